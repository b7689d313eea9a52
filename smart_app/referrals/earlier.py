"""An earlier second opinion for the same patient: the compose page warns before a second one.

The outbox keeps every referral sent from this EHR (``iss``), whoever sent it. Open ones
(waiting, delivered) and those sent in the last ``RECENT`` count. The patient reference is
sealed at rest, so the patient is matched here, not in SQL (as ``Filing.awaiting`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from fhir_mappings.task import status_display_from_code
from smart_app.referrals.tracking import STATE_TEXT
from smart_app.store import DeliveryRecord, Store

RECENT = timedelta(days=90)
OPEN_STATES = ("pending", "sent")


@dataclass(frozen=True)
class EarlierReferral:
    """What the warning says about one earlier referral."""

    id: str
    sent_at: datetime
    physician: str | None
    status: str  # plain words: "Delivered to the clinic (In Progress)"
    mine: bool  # sent by this ATP, so its page may be linked
    state: str = "pending"  # the outbox state: pending, sent, closed or dead

    @property
    def open(self) -> bool:
        """Still waiting for the opinion (a dead delivery waits for the ATP's retry)."""
        return self.state != "closed"


def earlier_referrals(
    store: Store, iss: str, patient_reference: str, fhir_user: str, now: datetime
) -> list[EarlierReferral]:
    """Open or recent referrals for this patient at this EHR, newest first."""
    with store.transaction() as db:
        rows = db.execute(
            select(DeliveryRecord.id, DeliveryRecord.patient_reference).where(
                DeliveryRecord.iss == iss,
                or_(DeliveryRecord.state.in_(OPEN_STATES), DeliveryRecord.created_at >= now - RECENT),
            )
        ).all()
        ids = [referral_id for referral_id, patient in rows if patient == patient_reference]
        if not ids:
            return []
        found = db.execute(select(DeliveryRecord).where(DeliveryRecord.id.in_(ids))).scalars().all()
        earlier = [_earlier(row, fhir_user) for row in found]
    return sorted(earlier, key=lambda item: item.sent_at, reverse=True)


def _earlier(row: DeliveryRecord, fhir_user: str) -> EarlierReferral:
    summary = json.loads(row.summary_json)
    status = STATE_TEXT.get(row.state, row.state)
    if row.task_status:
        status = f"{status} ({status_display_from_code(row.task_status)})"
    return EarlierReferral(
        id=row.id, sent_at=row.created_at, physician=summary.get("physician"), status=status,
        mine=bool(fhir_user) and row.fhir_user == fhir_user, state=row.state,
    )
