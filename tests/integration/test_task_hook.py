"""The Task hook over HTTP: one valid token at any rate costs one database write, and is limited.

``POST /hooks/task/<token>`` makes that referral's next poll due. Pinged again while the
poll is already due, nothing is written (the condition is in the UPDATE, so it holds across
processes); past a small burst per token the hook answers 429 with Retry-After.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import event

from smart_app.referrals.outbox import NewDelivery, Outbox, enqueue
from smart_app.services import utcnow
from smart_app.store import DeliveryRecord, Store, token_hash
from smart_app.web.hooks import HOOK_BURST

pytestmark = pytest.mark.usefixtures("live_app")


def _store(flask_app: Flask) -> Store:
    store: Store = flask_app.extensions["second_opinion"].store
    return store


def _followed_task(store: Store, due: datetime) -> tuple[str, str]:
    """A delivered referral whose Task the app follows under a fresh hook token; (referral id, token)."""
    referral_id, token = uuid.uuid4().hex, secrets.token_urlsafe(32)
    new = NewDelivery(referral_id, "https://ehr.example/fhir", "https://ehr.example/fhir/Practitioner/p",
                      "sr-1", "Patient/p", {}, "https://clinic.example/fhir", {"resourceType": "Bundle"})
    with store.transaction() as db:
        enqueue(db, new, utcnow())
    with store.transaction() as db:
        row = db.get(DeliveryRecord, referral_id)
        assert row is not None
        row.state, row.task_id, row.hook_hash = "sent", "t-1", token_hash(token)
        row.next_attempt_at, row.polls = due, 5
    return referral_id, token


@pytest.fixture
def writes(flask_app: Flask) -> Iterator[list[str]]:
    """Every UPDATE and INSERT the app's database runs while the test runs (SQLAlchemy's own events)."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            seen.append(statement.split()[0].upper() + " " + statement.split()[1])

    engine = _store(flask_app).engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _ping(app_url: str, token: str) -> requests.Response:
    return requests.post(f"{app_url}/hooks/task/{token}", timeout=30,
                         headers={"Accept": "application/fhir+json"})


def _due(flask_app: Flask, referral_id: str) -> datetime:
    with _store(flask_app).transaction() as db:
        row = db.get(DeliveryRecord, referral_id)
        assert row is not None
        return row.next_attempt_at


def test_pings_while_the_poll_is_due_write_once(flask_app: Flask, live_app: str, writes: list[str]) -> None:
    referral_id, token = _followed_task(_store(flask_app), utcnow() + timedelta(hours=1))
    writes.clear()
    for _ in range(HOOK_BURST):
        assert _ping(live_app, token).status_code == 204
    assert writes == ["UPDATE deliveries"]
    assert _due(flask_app, referral_id) <= utcnow()


def test_past_the_burst_a_token_is_told_to_wait(flask_app: Flask, live_app: str, writes: list[str]) -> None:
    _, token = _followed_task(_store(flask_app), utcnow() + timedelta(hours=1))
    writes.clear()
    answers = [_ping(live_app, token) for _ in range(HOOK_BURST + 3)]
    assert [a.status_code for a in answers[:HOOK_BURST]] == [204] * HOOK_BURST
    for refused in answers[HOOK_BURST:]:
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["issue"][0]["code"] == "throttled"
    assert writes.count("UPDATE deliveries") == 1
    _, other = _followed_task(_store(flask_app), utcnow() + timedelta(hours=1))
    assert _ping(live_app, other).status_code == 204  # the limit is per token


def test_the_coalescing_is_in_the_database_not_the_process(flask_app: Flask, writes: list[str]) -> None:
    """Two processes' Outboxes (here two on one store) never write a due poll twice."""
    store = _store(flask_app)
    referral_id, token = _followed_task(store, utcnow() + timedelta(hours=1))
    writes.clear()
    now = utcnow()
    assert Outbox(store).notified(token, now) == referral_id
    assert Outbox(store).notified(token, now + timedelta(seconds=1)) == referral_id
    assert writes == ["UPDATE deliveries"]
    assert Outbox(store).notified(secrets.token_urlsafe(32), now) is None
    assert writes == ["UPDATE deliveries"]


def test_an_unknown_token_is_limited_too(live_app: str) -> None:
    token = secrets.token_urlsafe(32)
    statuses = [_ping(live_app, token).status_code for _ in range(HOOK_BURST + 1)]
    assert statuses == [404] * HOOK_BURST + [429]
