"""Server-side state in one relational database (SQLite by default, PostgreSQL to scale out).

The browser holds only an opaque session token; the database keys the session by
the token's SHA-256, so a copy of the database does not hold live cookies.
Tokens from the EHR never leave this store except to call that EHR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, ForeignKey, String, Text, TypeDecorator, create_engine, delete
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


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


class LaunchSession(Base):
    """One SMART launch: pending (state, PKCE verifier) until the callback, then active (tokens)."""

    __tablename__ = "launch_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    registration: Mapped[str] = mapped_column(String(200))
    iss: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16))  # pending | active
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    scope: Mapped[str | None] = mapped_column(Text)
    patient: Mapped[str | None] = mapped_column(String(200))
    encounter: Mapped[str | None] = mapped_column(String(200))
    fhir_user: Mapped[str | None] = mapped_column(String(2000))
    context_json: Mapped[str | None] = mapped_column(Text)  # banner, style, tenant, fhirContext
    chart_json: Mapped[str | None] = mapped_column(Text)  # the chart read at compose time


class ReferralRecord(Base):
    """A referral the ATP sent; the id is the ServiceRequest identifier and idempotency key."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("launch_sessions.id", ondelete="CASCADE"), index=True
    )
    iss: Mapped[str] = mapped_column(String(2000))
    service_request_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # sending | sent
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


def token_hash(token: str) -> str:
    """The database key for a browser-held token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The engine and a session factory; one per app."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url, **_engine_options(database_url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        """Create missing tables; safe when several workers start at once."""
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError:  # another worker created a table between check and create
            Base.metadata.create_all(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self._sessions.begin() as db:
            yield db

    def purge_expired(self, now: datetime) -> int:
        """Delete launch sessions past their expiry (and, by cascade, nothing of the EHR's)."""
        with self.session() as db:
            result = db.execute(delete(LaunchSession).where(LaunchSession.expires_at < now))
            return int(getattr(result, "rowcount", 0) or 0)


def _engine_options(database_url: str) -> dict[str, object]:
    if not database_url.startswith("sqlite"):
        return {"pool_pre_ping": True}
    path = database_url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {"connect_args": {"timeout": 15}}
