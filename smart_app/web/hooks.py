"""The rest-hook a receiving clinic calls when a referral's Task changes (R4 Subscription, empty payload).

``POST /hooks/task/<token>``: the token was made for one referral when its Subscription
was created, and only its SHA-256 is kept. A known token makes that referral's next poll
due at once (the worker then reads the Task); nothing in the request is trusted beyond
that, and the body is not read. Answers are FHIR: 204, or an OperationOutcome.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response

from smart_app.errors import operation_outcome_response
from smart_app.referrals.outbox import Outbox
from smart_app.services import services, utcnow

logger = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
UNKNOWN = "Second Opinion follows no referral under this address."
HOOK_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")  # secrets.token_urlsafe(32) is 43 characters


@bp.post("/hooks/task/<token>")
def task_changed(token: str) -> Response:
    """The clinic's notification: poll that referral's Task now."""
    referral_id = Outbox(services().store).notified(token, utcnow()) if HOOK_TOKEN.fullmatch(token) else None
    if referral_id is None:
        return operation_outcome_response(404, "not-found", UNKNOWN)
    logger.info("task.notified id=%s", referral_id)
    return Response(status=204)

