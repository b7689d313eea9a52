"""What the ATP sees of their referrals: state, history and answers, across launches.

A referral is shown only to the physician who sent it: the verified ``fhirUser``
and the ``iss`` of the current launch must match the ones it was sent with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fhir_mappings.task import status_display_from_code
from smart_app.errors import ReferralNotFound
from smart_app.store import DeliveryEvent, DeliveryRecord, Store

STATE_TEXT = {
    "pending": "Waiting to be delivered",
    "sent": "Delivered to the clinic",
    "closed": "Closed",
    "dead": "Not delivered: needs your attention",
}


@dataclass(frozen=True)
class HistoryLine:
    """One event, in plain words."""

    at: datetime
    text: str


@dataclass(frozen=True)
class ReferralView:
    """A referral as its page and the list show it."""

    id: str
    created_at: datetime
    state: str
    state_text: str
    task_status: str | None
    summary: dict[str, Any]
    result: dict[str, Any]
    last_error: str | None
    filing: str | None
    history: tuple[HistoryLine, ...] = ()

    @property
    def answered(self) -> list[tuple[str, str | None]]:
        """Each question with its answer (None until answered), in the ATP's order."""
        answers = list(self.result.get("answers") or [])
        questions = list(self.summary.get("questions") or [])
        return [(q, answers[i] if i < len(answers) else None) for i, q in enumerate(questions)]


EVENT_TEXT = {
    "queued": "Queued for delivery",
    "delivered": "Delivered to the receiving clinic",
    "retry": "Delivery will be tried again",
    "failed": "Delivery failed",
    "retry-requested": "You asked to try again",
    "filed": "Opinion filed to the chart",
}


class Tracking:
    """Reads referrals for one physician at one EHR."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def list(self, fhir_user: str, iss: str) -> list[ReferralView]:
        """The physician's referrals, newest first."""
        with self._store.transaction() as db:
            rows = db.execute(
                select(DeliveryRecord)
                .where(DeliveryRecord.fhir_user == fhir_user, DeliveryRecord.iss == iss)
                .order_by(DeliveryRecord.created_at.desc(), DeliveryRecord.id)
            ).scalars()
            return [_view(row, ()) for row in rows]

    def one(self, referral_id: str, fhir_user: str, iss: str) -> ReferralView:
        """One referral with its history; ReferralNotFound for anyone else's."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id)
            if row is None or row.fhir_user != fhir_user or row.iss != iss:
                raise ReferralNotFound(
                    "There is no such referral among yours.",
                    "Open the list of your referrals and choose one from there.",
                )
            events = db.execute(
                select(DeliveryEvent)
                .where(DeliveryEvent.delivery_id == referral_id)
                .order_by(DeliveryEvent.at, DeliveryEvent.id)
            ).scalars()
            return _view(row, tuple(_line(e) for e in events))


def _line(event: DeliveryEvent) -> HistoryLine:
    if event.kind == "status":
        return HistoryLine(event.at, f"The clinic set the status to {event.detail}")
    text = EVENT_TEXT.get(event.kind, event.kind)
    return HistoryLine(event.at, f"{text}: {event.detail}" if event.detail else text)


def _view(row: DeliveryRecord, history: tuple[HistoryLine, ...]) -> ReferralView:
    state_text = STATE_TEXT.get(row.state, row.state)
    if row.state in ("sent", "closed") and row.task_status:
        state_text = status_display_from_code(row.task_status)
    return ReferralView(
        id=row.id,
        created_at=row.created_at,
        state=row.state,
        state_text=state_text,
        task_status=row.task_status,
        summary=json.loads(row.summary_json),
        result=json.loads(row.result_json) if row.result_json else {},
        last_error=row.last_error,
        filing=row.filing,
        history=history,
    )
