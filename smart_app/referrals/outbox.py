"""The delivery outbox: one row per referral, claimed by one worker at a time, never lost.

A worker claims due rows with a lease (``claimed_until``); on PostgreSQL the claim
also uses ``SELECT … FOR UPDATE SKIP LOCKED`` so that concurrent workers never wait
on each other's rows (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
A worker killed mid-delivery loses nothing: its lease runs out and another worker
delivers again; conditional creates at the receiver make the repeat harmless.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.orm import Session

from smart_app.store import DeliveryEvent, DeliveryRecord, Store, patient_key, token_hash

LEASE = timedelta(seconds=60)
Event = tuple[str, str | None]  # a history line: kind, detail
ACTIVE_STATES = ("pending", "sent")
_JITTER = random.Random()


@dataclass(frozen=True)
class Pacing:
    """How long to wait: before retrying a failed delivery, and between polls of a Task."""

    backoff_base: float = 2.0
    backoff_cap: float = 600.0
    poll_base: float = 2.0
    poll_cap: float = 300.0
    token_refusal_window: float = 900.0  # a refused token is tried again this long (a JWKS cache's life)


DEFAULT_PACING = Pacing()


@dataclass(frozen=True)
class NewDelivery:
    """What the send step knows when it enqueues a delivery."""

    referral_id: str
    iss: str
    fhir_user: str
    service_request_id: str
    patient_reference: str
    summary: dict[str, Any]
    receiver_url: str
    payload: dict[str, Any]
    replaces: str | None = None  # the declined referral this one is sent instead of


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its database session."""

    id: str
    state: str
    iss: str
    receiver_url: str
    payload: dict[str, Any]
    task_id: str | None
    task_status: str | None
    attempts: int
    polls: int
    subscription_id: str | None = None  # the clinic's Subscription on the Task, if it offered one
    cancel_reason: str | None = None  # the ATP cancelled: the worker cancels the Task
    records: dict[str, Any] | None = None  # records the ATP added: the worker delivers them
    token_refused_at: datetime | None = None  # the clinic's token endpoint has refused since then


def backoff_seconds(
    attempts: int, pacing: Pacing = DEFAULT_PACING, rng: random.Random | None = None
) -> float:
    """Exponential backoff with "equal jitter", capped (AWS "Exponential Backoff And Jitter")."""
    ceiling = min(pacing.backoff_cap, pacing.backoff_base * 2.0 ** min(attempts, 20))
    return (rng or _JITTER).uniform(ceiling / 2, ceiling)


def poll_seconds(polls: int, pacing: Pacing = DEFAULT_PACING) -> float:
    """The wait before polling a Task again: doubles while nothing changes, capped."""
    return min(pacing.poll_cap, pacing.poll_base * 2.0 ** min(polls, 20))


def enqueue(db: Session, new: NewDelivery, now: datetime) -> None:
    """Add the delivery inside the caller's transaction (the ledger's "sent")."""
    db.add(
        DeliveryRecord(
            id=new.referral_id,
            iss=new.iss,
            fhir_user=new.fhir_user,
            service_request_id=new.service_request_id,
            patient_reference=new.patient_reference,
            patient_key=patient_key(db, new.iss, new.patient_reference),
            summary_json=json.dumps(new.summary),
            receiver_url=new.receiver_url,
            payload_json=json.dumps(new.payload),
            replaces=new.replaces,
            state="pending",
            attempts=0,
            polls=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    db.flush()  # no ORM relationship orders the two inserts: the row must exist for the event's FK
    db.add(DeliveryEvent(delivery_id=new.referral_id, at=now, kind="queued", detail=None))


class Outbox:
    """Claims due deliveries and records what became of them, only while the claim holds."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, worker: str, now: datetime, limit: int = 10) -> list[Claimed]:
        """Lease up to ``limit`` due rows to ``worker``.

        One SELECT of ids (``SKIP LOCKED`` on PostgreSQL) and one guarded UPDATE that returns only
        what the worker needs: the summary, patient, answers and last Task stay sealed.
        """
        free = or_(DeliveryRecord.claimed_until.is_(None), DeliveryRecord.claimed_until < now)
        with self._store.transaction() as db:
            ids = db.scalars(
                select(DeliveryRecord.id)
                .where(DeliveryRecord.state.in_(ACTIVE_STATES), DeliveryRecord.next_attempt_at <= now, free)
                .order_by(DeliveryRecord.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            if not ids:
                return []
            won = db.execute(  # the guard makes the lease safe on SQLite too
                update(DeliveryRecord)
                .where(DeliveryRecord.id.in_(ids), free)
                .values(claimed_until=now + LEASE, claimed_by=worker)
                .returning(*_CLAIMED_COLUMNS)
                .execution_options(synchronize_session=False)
            ).all()
        order = {referral_id: n for n, referral_id in enumerate(ids)}
        return [_claimed(row._mapping) for row in sorted(won, key=lambda row: order[row.id])]

    def record(
        self, claim: Claimed, worker: str, now: datetime, event: Event | Sequence[Event] | None, **values: Any
    ) -> bool:
        """Update the row and release it, if ``worker`` still holds it; False if the lease was lost.

        ``event``: one history line (kind, detail), several, or None. One guarded UPDATE: the row's
        sealed columns are not opened to be written.
        """
        with self._store.transaction() as db:
            updated = db.execute(
                update(DeliveryRecord)
                .where(DeliveryRecord.id == claim.id, DeliveryRecord.claimed_by == worker)
                .values(**values, claimed_until=None, claimed_by=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(updated, "rowcount", 0) != 1:
                return False
            events = [] if event is None else [event] if isinstance(event, tuple) else list(event)
            for kind, detail in events:
                db.add(DeliveryEvent(delivery_id=claim.id, at=now, kind=kind, detail=detail))
            return True

    def notified(self, hook_token: str, now: datetime) -> str | None:
        """The clinic says the Task changed: make its poll due now; the referral id, or None if unknown.

        One read of three plain columns (no sealed one is opened), and a write only when the
        poll is not due yet: the condition is in the UPDATE, so pings in any number of
        processes coalesce into one due poll.
        """
        digest = token_hash(hook_token)
        with self._store.transaction() as db:
            found = db.execute(
                select(DeliveryRecord.id, DeliveryRecord.state, DeliveryRecord.next_attempt_at)
                .where(DeliveryRecord.hook_hash == digest)
            ).first()
            if found is None:
                return None
            if found.state == "sent" and found.next_attempt_at > now:
                db.execute(
                    update(DeliveryRecord)
                    .where(DeliveryRecord.hook_hash == digest, DeliveryRecord.state == "sent",
                           DeliveryRecord.next_attempt_at > now)
                    .values(next_attempt_at=now, polls=0)
                    .execution_options(synchronize_session=False)
                )
            return str(found.id)

    def try_again(self, referral_id: str, now: datetime) -> bool:
        """Put a dead delivery back in the queue (the ATP's "Try again")."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is None or row.state != "dead":
                return False
            row.state = "pending" if row.task_id is None else "sent"
            row.attempts, row.next_attempt_at, row.updated_at, row.last_error = 0, now, now, None
            row.token_refused_at = None
            db.add(DeliveryEvent(delivery_id=referral_id, at=now, kind="retry-requested", detail=None))
            return True

    def cancel(self, referral_id: str, reason: str, now: datetime) -> bool:
        """The ATP cancels: the worker cancels the clinic's Task next (a dead letter is closed at once)."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is None or row.cancel_reason or row.state == "closed":
                return False
            row.cancel_reason, row.next_attempt_at, row.updated_at = reason, now, now
            if row.state == "dead" and row.task_id is None:
                row.state = "closed"  # never delivered: nothing to tell the clinic
            elif row.state == "dead":
                row.state, row.attempts, row.last_error = "sent", 0, None
            db.add(DeliveryEvent(delivery_id=referral_id, at=now, kind="cancel-requested", detail=reason))
            return True

    def add_records(self, referral_id: str, records: dict[str, Any], titles: str, now: datetime) -> bool:
        """The ATP added the records the physician asked for: the worker delivers them next."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is None or row.state != "sent" or row.records_json:
                return False
            row.records_json, row.next_attempt_at, row.updated_at = json.dumps(records), now, now
            db.add(DeliveryEvent(delivery_id=referral_id, at=now, kind="records-added", detail=titles))
            return True

    def rerouted(self, referral_id: str, new_id: str, number: str, now: datetime) -> None:
        """The declined referral points at the one that replaced it (and the history says so)."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is not None and row.rerouted_to is None:
                row.rerouted_to, row.updated_at = new_id, now
                db.add(DeliveryEvent(delivery_id=referral_id, at=now, kind="rerouted", detail=number))


_CLAIMED_COLUMNS = (
    DeliveryRecord.id, DeliveryRecord.state, DeliveryRecord.iss, DeliveryRecord.receiver_url,
    DeliveryRecord.payload_json, DeliveryRecord.task_id, DeliveryRecord.task_status, DeliveryRecord.attempts,
    DeliveryRecord.polls, DeliveryRecord.subscription_id, DeliveryRecord.cancel_reason,
    DeliveryRecord.records_json, DeliveryRecord.token_refused_at,
)


def _claimed(row: RowMapping) -> Claimed:
    """The columns the UPDATE returned (``_CLAIMED_COLUMNS``), opened and parsed."""
    records = row["records_json"]
    return Claimed(
        id=row["id"], state=row["state"], iss=row["iss"], receiver_url=row["receiver_url"],
        payload=json.loads(row["payload_json"]), task_id=row["task_id"], task_status=row["task_status"],
        attempts=row["attempts"], polls=row["polls"], subscription_id=row["subscription_id"],
        cancel_reason=row["cancel_reason"], records=json.loads(records) if records else None,
        token_refused_at=row["token_refused_at"],
    )
