"""Server-side state in one relational database (SQLite by default, PostgreSQL to scale out).

The browser holds only an opaque cookie per launch; the database keeps the
cookie's SHA-256, so a copy of the database does not hold live cookies. Tokens
and PHI are sealed with the data keys (``smart_app.crypto``); the SQLite file is
private to its owner (0600) and enforces foreign keys.

A web request's database work is one *unit* (``Store.request_unit``): its reads (the guard's
launch row, the referral it shows) and its first write share one transaction instead of one
each, and the unit ends its transaction before any outbound HTTP (``release_unit``), so no
transaction is held open while the app waits on an EHR or a clinic.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    and_,
    create_engine,
    delete,
    event,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from smart_app.crypto import DataKeys, EncryptedText, bind_data_keys, data_keys_of

__all__ = [
    "AnswerDraft", "Base", "EncryptedText", "Launch", "ReferralRecord", "Store", "UtcDateTime",
    "release_unit", "token_hash",
]
from smart_app.migrations.runner import upgrade


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Launch(Base):
    """One SMART launch: pending (state, PKCE verifier) until the callback, then active (tokens).

    ``id`` is the launch key in the page URLs (one launch per tab); the browser
    proves it owns the launch with the cookie whose SHA-256 is ``cookie_hash``.
    Tokens, launch context and the chart are sealed (``EncryptedText``).
    """

    __tablename__ = "launches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the launch key in URLs
    cookie_hash: Mapped[str] = mapped_column(String(64))  # sha256 of this launch's cookie
    state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    registration: Mapped[str] = mapped_column(String(200))
    iss: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16))  # pending | active
    role: Mapped[str] = mapped_column(String(16), default="atp")  # atp | physician, set at the callback
    code_verifier: Mapped[str | None] = mapped_column(EncryptedText())
    nonce: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    chart_read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when chart_json was read
    access_token: Mapped[str | None] = mapped_column(EncryptedText())
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText())
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    refreshing_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # single-flight claim
    scope: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[str | None] = mapped_column(EncryptedText())
    encounter: Mapped[str | None] = mapped_column(EncryptedText())
    fhir_user: Mapped[str | None] = mapped_column(EncryptedText())
    context_json: Mapped[str | None] = mapped_column(EncryptedText())  # banner, style, fhirContext
    # Deferred: loaded only by the steps that need them (Launches.chart_json), not on every request.
    chart_json: Mapped[str | None] = mapped_column(EncryptedText(), deferred=True)  # read at compose
    draft_json: Mapped[str | None] = mapped_column(EncryptedText(), deferred=True)  # kept when ended


class ReferralRecord(Base):
    """A referral the ATP sent; the id is the ServiceRequest identifier and idempotency key."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    launch_id: Mapped[str] = mapped_column(
        ForeignKey("launches.id", ondelete="CASCADE"), index=True
    )
    iss: Mapped[str] = mapped_column(String(2000))
    service_request_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sending | sent
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryRecord(Base):
    """The outbox row of one referral: the source of truth for its delivery and tracking.

    Written in the same transaction as the ledger's "sent" (so no referral is written and
    forgotten) and kept when its launch expires, so the ATP sees it across launches.
    state: pending (to deliver) → sent (Task followed) → closed; dead = refused, needs a person.
    What a person reads of it comes from fhir_mappings/referral_lifecycle.py, never from ``state`` alone.
    Everything about the patient (reference, summary, Bundle, answers, reasons) is sealed.
    """

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the referral id
    iss: Mapped[str] = mapped_column(String(2000))
    fhir_user: Mapped[str] = mapped_column(String(2000))
    service_request_id: Mapped[str] = mapped_column(String(64))  # at the EHR
    patient_reference: Mapped[str] = mapped_column(EncryptedText())  # at the EHR, "Patient/…"
    patient_key: Mapped[str | None] = mapped_column(String(100), index=True)  # its blind index (with iss)
    summary_json: Mapped[str] = mapped_column(EncryptedText())  # patient, physician, questions (for the page)
    receiver_url: Mapped[str] = mapped_column(String(2000))
    payload_json: Mapped[str] = mapped_column(EncryptedText())  # the transaction Bundle, built once
    state: Mapped[str] = mapped_column(String(16), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    task_status: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)  # polls since the Task last changed
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(EncryptedText())  # plain words, shown to the ATP
    result_json: Mapped[str | None] = mapped_column(EncryptedText())  # answers, reason, opinion letter
    filing: Mapped[str | None] = mapped_column(String(16))  # awaiting-launch | filed
    subscription_id: Mapped[str | None] = mapped_column(String(64))  # the clinic's, on the Task
    hook_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)  # hook token, hashed
    task_json: Mapped[str | None] = mapped_column(EncryptedText())  # the clinic's Task as last read
    cancel_reason: Mapped[str | None] = mapped_column(EncryptedText())  # the ATP cancelled, in their words
    rerouted_to: Mapped[str | None] = mapped_column(String(64))  # the referral sent instead of this one
    replaces: Mapped[str | None] = mapped_column(String(64))  # the declined referral this one replaces
    records_json: Mapped[str | None] = mapped_column(EncryptedText())  # records the ATP added, to deliver
    token_refused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # first of a run of refusals
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryEvent(Base):
    """One line of a referral's history: sent, a Task status change, a failure, a retry."""

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(EncryptedText())  # a reason in the clinic's words


class AnswerDraft(Base):
    """What a second-opinion physician typed for one referral Task, kept as they type (sealed).

    One row per (clinic, Task, physician): nothing is lost to a timeout, an ended launch or a
    double submit; ``signed_at`` is set once the signed opinion is at the clinic.
    """

    __tablename__ = "answer_drafts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of iss, Task id, fhirUser
    iss: Mapped[str] = mapped_column(String(2000))
    task_id: Mapped[str] = mapped_column(String(64))
    fields_json: Mapped[str] = mapped_column(EncryptedText())  # the answer boxes and the conclusion
    signing_until: Mapped[datetime | None] = mapped_column(UtcDateTime())  # one signing at a time
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    letter_reference: Mapped[str | None] = mapped_column(String(200))  # DocumentReference/<id> at the clinic
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SeenJti(Base):
    """CDS Hooks: a client's JWT id, kept until the JWT expires; a second use is a replay."""

    __tablename__ = "cds_jtis"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of iss and jti
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class IssuedCard(Base):
    """A card the service returned, so that feedback can be matched to it."""

    __tablename__ = "cds_cards"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    service: Mapped[str] = mapped_column(String(64))
    client_iss: Mapped[str] = mapped_column(String(2000))
    rules: Mapped[str] = mapped_column(String(200))  # the rule ids that fired, space-separated
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class CardFeedback(Base):
    """One feedback item (CDS Hooks 2.0 §Feedback): accepted or overridden, and why."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    card_uuid: Mapped[str] = mapped_column(ForeignKey("cds_cards.uuid", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | overridden
    accepted_suggestions: Mapped[int] = mapped_column(Integer, default=0)
    override_reason: Mapped[str | None] = mapped_column(String(64))  # one of our reason codes
    outcome_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


def patient_search_value(iss: str, patient_reference: str) -> str:
    """What a delivery's patient blind index is computed over: the same id at two EHRs differs."""
    return f"{iss}\n{patient_reference}"


def patient_key(db: Session, iss: str, patient_reference: str) -> str:
    """The blind index a new delivery row keeps for its patient."""
    return data_keys_of(db.get_bind()).blind_index(patient_search_value(iss, patient_reference))


def for_patient(db: Session, iss: str, patient_reference: str) -> ColumnElement[bool]:
    """Deliveries of this patient at this EHR, found by blind index under any listed key.

    Rows from before the index (NULL until the app's start fills them) come too: callers compare
    the opened reference of every row they get.
    """
    keys = data_keys_of(db.get_bind()).blind_indexes(patient_search_value(iss, patient_reference))
    return and_(DeliveryRecord.iss == iss,
                or_(DeliveryRecord.patient_key.in_(keys), DeliveryRecord.patient_key.is_(None)))


def token_hash(token: str) -> str:
    """The database key for a browser-held token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class _Unit:
    """One request's session: its blocks join it unless one is already running (then: their own)."""

    store: Store
    session: Session
    running: bool = False


_UNIT: ContextVar[_Unit | None] = ContextVar("second_opinion_unit", default=None)


def release_unit() -> None:
    """End the request's open transaction (its reads) before the app waits on another server."""
    unit = _UNIT.get()
    if unit is not None and not unit.running and unit.session.in_transaction():
        unit.session.commit()


class Store:
    """The engine and a session factory; one per app."""

    def __init__(self, database_url: str, data_keys: DataKeys | None = None) -> None:
        self.engine: Engine = create_engine(database_url, **_engine_options(database_url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_foreign_keys)
        self.data_keys = data_keys
        if data_keys is not None:
            bind_data_keys(self.engine, data_keys)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Migrate to the newest schema (Alembic); safe when several workers start at once."""
        upgrade(self.engine)
        if self.data_keys is not None:
            self._fill_patient_keys(self.data_keys)

    def _fill_patient_keys(self, keys: DataKeys) -> None:
        """Rows written before the blind index get theirs (the same value whoever computes it)."""
        with self.transaction() as db:
            missing = db.execute(
                select(DeliveryRecord.id, DeliveryRecord.iss, DeliveryRecord.patient_reference)
                .where(DeliveryRecord.patient_key.is_(None))
            ).all()  # only the reference is opened, not the whole row
            for referral_id, iss, patient_reference in missing:
                db.execute(
                    update(DeliveryRecord).where(DeliveryRecord.id == referral_id)
                    .values(patient_key=keys.blind_index(patient_search_value(iss, patient_reference)))
                )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work that writes: commits on success, rolls back on any error.

        In a request's unit it joins the transaction the request's reads opened and commits it.
        """
        with self._block(commit=True) as db:
            yield db

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Reads only: in a request's unit they stay in its transaction for the next block to use."""
        with self._block(commit=False) as db:
            yield db

    @contextmanager
    def request_unit(self) -> Iterator[None]:
        """Group one request's blocks into as few transactions as its outbound calls allow."""
        unit = _Unit(self, self._sessions())
        token = _UNIT.set(unit)
        try:
            yield
            if unit.session.in_transaction():
                unit.session.commit()
        finally:
            _UNIT.reset(token)
            unit.session.close()  # rolls back whatever an error left open

    def purge_expired(self, now: datetime) -> int:
        """Delete launches past their expiry, and by cascade every row that belongs to them."""
        with self.transaction() as db:
            result = db.execute(delete(Launch).where(Launch.expires_at < now))
            return int(getattr(result, "rowcount", 0) or 0)

    def _joinable(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.store is self and not unit.running else None

    @contextmanager
    def _block(self, commit: bool) -> Iterator[Session]:
        """A block on its own session, or a block of the request's unit (rows come out detached,
        as from a block of their own; a block inside a running one gets its own session)."""
        unit = self._joinable()
        if unit is None:
            with self._sessions.begin() as db:
                yield db
            return
        unit.running = True
        try:
            yield unit.session
            if commit:
                unit.session.commit()
        except BaseException:
            unit.session.rollback()
            raise
        finally:
            unit.running = False
            unit.session.expunge_all()


def _engine_options(database_url: str) -> dict[str, object]:
    if not database_url.startswith("sqlite"):
        return {"pool_pre_ping": True}
    path = database_url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        _private_file(Path(path))
    return {"connect_args": {"timeout": 15}}


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use the umask, often 0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _sqlite_foreign_keys(connection: Any, _record: Any) -> None:
    """SQLite enforces foreign keys (and ON DELETE CASCADE) only when asked, per connection."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
