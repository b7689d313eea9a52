"""Feedback on our cards: https://cds-hooks.hl7.org/2.0/#feedback.

``{"feedback": [{"card": uuid, "outcome": "accepted" | "overridden", "acceptedSuggestions":
[{"id": …}], "overrideReason": {"reason": Coding, "userComment": …}, "outcomeTimestamp": …}]}``.
Only cards this service gave the same CDS client are recorded; the override reason is kept as
one of our codes ("other" for anything else) and the clinician's comment is never kept.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir_mappings.codes import CDS_OVERRIDE_REASON_SYSTEM_ID, CDS_OVERRIDE_REASONS, local_system
from smart_app.cds.errors import CdsRequestInvalid
from smart_app.cds.records import CardFeedback, known_cards
from smart_app.store import Store

logger = logging.getLogger(__name__)
MAX_ITEMS = 100
_HINT = "Send feedback as CDS Hooks 2.0 describes (https://cds-hooks.hl7.org/2.0/#feedback)."


@dataclass(frozen=True)
class Feedback:
    """One validated feedback item."""

    card: str
    outcome: str
    accepted_suggestions: int
    override_reason: str | None
    outcome_at: datetime


def feedback_from_json(body: Any, ns: str) -> list[Feedback]:
    """The items, or CdsRequestInvalid naming the first one that is wrong."""
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise CdsRequestInvalid(f"feedback must be an array of 1 to {MAX_ITEMS} items.", _HINT)
    return [_item(item, number, ns) for number, item in enumerate(items, start=1)]


def feedback_rows(store: Store, items: list[Feedback], client_iss: str, now: datetime) -> list[CardFeedback]:
    """The rows for cards this client was given; any other card refuses the whole request."""
    cards = {item.card for item in items}
    if cards - known_cards(store, cards, client_iss):
        raise CdsRequestInvalid("Some feedback is about cards this service did not give this EHR.", _HINT)
    for item in items:
        logger.info(
            "cds.feedback card=%s outcome=%s reason=%s", item.card, item.outcome, item.override_reason
        )
    return [
        CardFeedback(
            card_uuid=i.card,
            outcome=i.outcome,
            accepted_suggestions=i.accepted_suggestions,
            override_reason=i.override_reason,
            outcome_at=i.outcome_at,
            received_at=now,
        )
        for i in items
    ]


def _item(item: Any, number: int, ns: str) -> Feedback:
    if not isinstance(item, dict):
        raise _invalid(number, "is not an object")
    try:
        card = str(uuid.UUID(item.get("card")))
    except (TypeError, ValueError, AttributeError):
        raise _invalid(number, "has no card uuid") from None
    outcome = item.get("outcome")
    if outcome not in ("accepted", "overridden"):
        raise _invalid(number, "has an outcome other than accepted or overridden")
    accepted = item.get("acceptedSuggestions")
    if outcome == "accepted" and not (
        isinstance(accepted, list)
        and accepted
        and all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted)
    ):
        raise _invalid(number, "is accepted without acceptedSuggestions")
    return Feedback(
        card,
        outcome,
        len(accepted) if isinstance(accepted, list) else 0,
        _reason(item.get("overrideReason"), ns) if outcome == "overridden" else None,
        _timestamp(item.get("outcomeTimestamp"), number),
    )


def _reason(value: Any, ns: str) -> str | None:
    """One of our override reason codes, "other" for another coding, None when none was chosen."""
    reason = value.get("reason") if isinstance(value, dict) else None
    if not isinstance(reason, dict):
        return None
    ours = reason.get("system") == local_system(ns, CDS_OVERRIDE_REASON_SYSTEM_ID)
    code = reason.get("code")
    return code if ours and isinstance(code, str) and code in CDS_OVERRIDE_REASONS else "other"


def _timestamp(value: Any, number: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(number, "has no outcomeTimestamp with a time zone")
    return parsed.astimezone(UTC)


def _invalid(number: int, what: str) -> CdsRequestInvalid:
    return CdsRequestInvalid(f"Feedback item {number} {what}.", _HINT)
