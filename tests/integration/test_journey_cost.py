"""What one ATP journey costs the database: launch → compose → send → the referral's page.

Counted at the engine (SQLAlchemy's ``begin`` event: one per real transaction, reads included),
by the request that opened it. The figures and the reasons for each are in docs/benchmarks.md.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
from flask import Flask, has_request_context, request
from sqlalchemy import event

from tests.pages import launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

# One each, and why it cannot be fewer without losing a safety property:
EXPECTED = {
    "GET launch.ehr_launch": 1,  # the pending launch (state, PKCE verifier) is kept server-side
    "GET launch.callback": 2,  # the state is spent before the code is; then tokens + chart in one write
    "GET compose.compose_page": 1,  # the launch row, its kept chart, earlier referrals: one read
    "POST compose.send_referral": 2,  # claimed before the EHR write (no double send); sent + outbox after
    "GET referrals.referral_page": 1,  # the launch row and the referral: one read
}


@pytest.fixture
def transactions(flask_app: Flask) -> Iterator[collections.Counter[str]]:
    """Transactions the app's requests open, by method and endpoint (the worker's are not counted)."""
    counted: collections.Counter[str] = collections.Counter()

    def begun(_connection: object) -> None:
        if has_request_context():
            counted[f"{request.method} {request.endpoint}"] += 1

    engine = flask_app.extensions["second_opinion"].store.engine
    event.listen(engine, "begin", begun)
    yield counted
    event.remove(engine, "begin", begun)


def test_a_journey_costs_one_transaction_per_request_and_two_where_a_write_waits_on_the_ehr(
    sandbox: Sandbox, transactions: collections.Counter[str]
) -> None:
    browser, page = launch_from_ehr(sandbox)
    assert page.url.endswith("/compose")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=referral_form(page.text), timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    assert dict(transactions) == EXPECTED
    assert sum(transactions.values()) == 7  # 15 before the request's reads shared one transaction


def test_a_reload_of_the_compose_page_reads_nothing_twice(
    sandbox: Sandbox, transactions: collections.Counter[str]
) -> None:
    browser, page = launch_from_ehr(sandbox)
    transactions.clear()
    again = browser.get(page.url, timeout=30)
    assert again.status_code == 200 and 'name="reason"' in again.text
    assert dict(transactions) == {"GET compose.compose_page": 1}
