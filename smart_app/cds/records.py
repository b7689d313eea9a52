"""What the CDS service keeps: the JWT ids it has seen, the cards it issued and the feedback on them.

No PHI: a card row holds its uuid, the service, the rules that fired and when; feedback holds
the outcome and the override reason's code; the clinician's free-text comment is never kept.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from smart_app.store import Base, Store, UtcDateTime


class SeenJti(Base):
    """A CDS client's JWT id, kept until the JWT expires: a second use is a replay."""

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


def seen_jti(iss: str, jti: str, expires_at: datetime) -> SeenJti:
    """The row that spends this JWT id (keyed by a hash: the id itself is not kept)."""
    return SeenJti(key=hashlib.sha256(f"{iss}\n{jti}".encode()).hexdigest(), expires_at=expires_at)


def spend_jti(store: Store, jti: SeenJti, rows: list[Base], now: datetime) -> bool:
    """Spend the JWT id and keep what the call produced, in one transaction (one commit per call).

    False when the id was seen before: nothing is kept, and two workers that got the same JWT
    at once cannot both succeed (the primary key decides). Expired ids are deleted on the way.
    """
    try:
        with store.transaction() as db:
            db.execute(delete(SeenJti).where(SeenJti.expires_at < now))
            db.add(jti)
            db.add_all(rows)
    except IntegrityError:
        return False
    return True


def known_cards(store: Store, uuids: set[str], client_iss: str) -> set[str]:
    """Which of these card uuids this CDS client was given."""
    with store.transaction() as db:
        rows = db.query(IssuedCard.uuid).filter(
            IssuedCard.uuid.in_(uuids), IssuedCard.client_iss == client_iss
        )
        return {uuid for (uuid,) in rows}
