"""The rest-hook a receiving clinic calls when a referral's Task changes (R4 Subscription, empty payload).

``POST /hooks/task/<token>``: the token was made for one referral when its Subscription
was created, and only its SHA-256 is kept. A known token makes that referral's next poll
due at once (the worker then reads the Task); nothing in the request is trusted beyond
that, and the body is not read. Answers are FHIR: 204, or an OperationOutcome.

A ping costs no write while the poll is already due (``Outbox.notified``), and each token
may ping ``HOOK_BURST`` times at once, then once every ``HOOK_EVERY_SECONDS`` in each
process; past that the answer is 429 with ``Retry-After`` (R4 http.html#rest-hook: a
clinic retries a notification that failed). A Task changes a few times in its life.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app

from smart_app.errors import operation_outcome_response
from smart_app.referrals.outbox import Outbox
from smart_app.services import services, utcnow
from smart_app.store import token_hash
from smart_app.token_bucket import TokenBuckets

logger = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
UNKNOWN = "Second Opinion follows no referral under this address."
SLOW_DOWN = "This address was notified too often; the Task's next poll is already due."
HOOK_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")  # secrets.token_urlsafe(32) is 43 characters
HOOK_BURST = 5
HOOK_EVERY_SECONDS = 10.0


@bp.post("/hooks/task/<token>")
def task_changed(token: str) -> Response:
    """The clinic's notification: poll that referral's Task now."""
    if not HOOK_TOKEN.fullmatch(token):
        return operation_outcome_response(404, "not-found", UNKNOWN)
    wait = _limits().take(token_hash(token))
    if wait:
        logger.info("task.notified_too_often wait=%s", wait)
        answer = operation_outcome_response(429, "throttled", SLOW_DOWN)
        answer.headers["Retry-After"] = str(wait)
        return answer
    referral_id = Outbox(services().store).notified(token, utcnow())
    if referral_id is None:
        return operation_outcome_response(404, "not-found", UNKNOWN)
    logger.info("task.notified id=%s", referral_id)
    return Response(status=204)


def _limits() -> TokenBuckets:
    """This app's buckets, one per hook token's hash (made on first use)."""
    buckets: TokenBuckets = current_app.extensions.setdefault(
        "second_opinion.hook_limits", TokenBuckets(HOOK_BURST, HOOK_EVERY_SECONDS))
    return buckets
