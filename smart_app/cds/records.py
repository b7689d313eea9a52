"""What the CDS service keeps (models in ``smart_app.store``): JWT ids seen, cards issued, their feedback.

No PHI: a card row holds its uuid, the service, the rules that fired and when; feedback holds
the outcome and the override reason's code; the clinician's free-text comment is never kept.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from smart_app.store import Base, CardFeedback, IssuedCard, SeenJti, Store

__all__ = ["CardFeedback", "IssuedCard", "SeenJti", "known_cards", "seen_jti", "spend_jti"]


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
