"""The ledger of referrals sent: one row per referral id, so a double submit writes once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError

from smart_app.errors import ReferralNotFound
from smart_app.referrals.outbox import NewDelivery, enqueue
from smart_app.store import ReferralRecord, Store

IN_FLIGHT = timedelta(seconds=30)

Claim = Literal["send", "sent", "in-flight"]


@dataclass(frozen=True)
class ReferralStatus:
    """What the confirmation page needs from the ledger."""

    id: str
    status: str
    service_request_id: str | None


class ReferralLedger:
    """Claims a referral id before it is written to the EHR and records the outcome."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, referral_id: str, launch_id: str, iss: str, now: datetime) -> Claim:
        """``send`` when this request should write it; otherwise it is sent or being sent."""
        try:
            with self._store.transaction() as db:
                db.add(
                    ReferralRecord(
                        id=referral_id,
                        launch_id=launch_id,
                        iss=iss,
                        status="sending",
                        created_at=now,
                        updated_at=now,
                    )
                )
            return "send"
        except IntegrityError:
            pass
        with self._store.transaction() as db:
            row = db.get(ReferralRecord, referral_id, with_for_update=True)
            if row is None or row.launch_id != launch_id:
                raise ReferralNotFound("This referral belongs to another launch.")
            if row.status == "sent":
                return "sent"
            if now - row.updated_at < IN_FLIGHT:
                return "in-flight"
            row.updated_at = now  # an earlier attempt failed: this request retries it
            return "send"

    def mark_sent(
        self,
        referral_id: str,
        service_request_id: str,
        now: datetime,
        delivery: NewDelivery | None = None,
    ) -> None:
        """Record the EHR's id and, in the same transaction, queue the delivery to the clinic."""
        with self._store.transaction() as db:
            row = db.get(ReferralRecord, referral_id)
            if row is not None:
                row.status, row.service_request_id, row.updated_at = "sent", service_request_id, now
                if delivery is not None:
                    enqueue(db, delivery, now)

    def release(self, referral_id: str) -> None:
        """Forget a failed attempt so that the ATP can send the same form again at once."""
        with self._store.transaction() as db:
            row = db.get(ReferralRecord, referral_id)
            if row is not None and row.status == "sending":
                db.delete(row)

    def status(self, referral_id: str, launch_id: str) -> ReferralStatus:
        """The ledger row, only for the launch that created it."""
        with self._store.reading() as db:
            row = db.get(ReferralRecord, referral_id)
            if row is None or row.launch_id != launch_id:
                raise ReferralNotFound(
                    "There is no such referral in this session.",
                    "Launch Second Opinion again from the patient's chart.",
                )
            return ReferralStatus(row.id, row.status, row.service_request_id)
