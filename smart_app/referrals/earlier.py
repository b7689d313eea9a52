"""An earlier second opinion for the same patient: the compose page warns before a second one.

The outbox keeps every referral sent from this EHR (``iss``), whoever sent it. Those still
waiting for an opinion (fhir_mappings/referral_lifecycle.py) and those sent in the last
``RECENT`` count. The patient reference is sealed at rest: it is matched in SQL by its blind
index (``smart_app.store.for_patient``). The warning names the ``SHOWN`` newest; the page says
when there are more, so a patient with many referrals costs the page no more than one with six.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from fhir_mappings.referral_lifecycle import Stage
from fhir_mappings.referral_number import referral_number_from_id
from smart_app.referrals.tracking import view_from_row
from smart_app.store import DeliveryRecord, Store, for_patient

RECENT = timedelta(days=90)
SHOWN = 5  # named in the warning; one more is read to know there are more
OPEN_STATES = ("pending", "sent", "dead")  # the outbox states a referral may still be answered from
DONE: frozenset[Stage] = frozenset({"answered", "filed", "declined", "rerouted", "cancelled"})


@dataclass(frozen=True)
class EarlierReferral:
    """What the warning says about one earlier referral."""

    id: str
    sent_at: datetime
    physician: str | None
    status: str  # the lifecycle's headline: "Sent: waiting to be delivered"
    mine: bool  # sent by this ATP, so its page may be linked
    stage: Stage = "sent"

    @property
    def open(self) -> bool:
        """Still waiting for the opinion (a failed delivery waits for the ATP's "Try again")."""
        return self.stage not in DONE

    @property
    def number(self) -> str:
        """The referral number a person reads out on the phone."""
        return referral_number_from_id(self.id)


def earlier_referrals(
    store: Store, ns: str, iss: str, patient_reference: str, fhir_user: str, now: datetime
) -> list[EarlierReferral]:
    """Open or recent referrals for this patient at this EHR, newest first: at most ``SHOWN`` + 1."""
    with store.reading() as db:
        found = db.scalars(
            select(DeliveryRecord)
            .where(
                for_patient(db, iss, patient_reference),
                or_(DeliveryRecord.state.in_(OPEN_STATES), DeliveryRecord.created_at >= now - RECENT),
            )
            .order_by(DeliveryRecord.created_at.desc())
            .limit(4 * SHOWN)  # a few closed long ago may be among them; they are dropped below
        ).all()
        mine = [row for row in found if row.patient_reference == patient_reference]  # rows without an index
        earlier = [_earlier(row, ns, fhir_user, now) for row in mine]
    shown = [item for item in earlier if item.open or item.sent_at >= now - RECENT]
    return sorted(shown, key=lambda item: item.sent_at, reverse=True)[: SHOWN + 1]


def _earlier(row: DeliveryRecord, ns: str, fhir_user: str, now: datetime) -> EarlierReferral:
    view = view_from_row(row, ns, now)
    return EarlierReferral(
        id=row.id, sent_at=row.created_at, physician=view.summary.get("physician"),
        status=view.lifecycle.headline, mine=bool(fhir_user) and row.fhir_user == fhir_user,
        stage=view.lifecycle.stage,
    )  # fmt: skip
