"""What one ATP journey costs the database: launch → compose → send → the referral's page.

Counted at the engine (SQLAlchemy's ``begin`` event: one per real transaction, reads included),
by the request that opened it. The figures and the reasons for each are in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.bench.transactions import NO_REQUEST, EngineTransactions
from tests.pages import launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

# One each, and why it cannot be fewer without losing a safety property:
EXPECTED = {
    "GET /launch": 1,  # the pending launch (state, PKCE verifier) is kept server-side
    "GET /callback": 2,  # the state is spent before the code is; then tokens + chart in one write
    "GET /l/<launch_key>/compose": 1,  # the launch row, its kept chart, earlier referrals: one read
    "POST /l/<launch_key>/referrals": 2,  # claimed before the EHR write (no double send); sent + outbox after
    "GET /l/<launch_key>/referrals/<referral_id>": 1,  # the launch row and the referral: one read
}


@pytest.fixture
def transactions(flask_app: Flask) -> Iterator[EngineTransactions]:
    """Transactions the app begins from now on."""
    counted = EngineTransactions(flask_app.extensions["second_opinion"].store.engine)
    yield counted
    counted.remove()


def _by_request(counted: EngineTransactions) -> dict[str, int]:
    """By request; a delivery worker's (outside any request) are not the journey's."""
    return {label: n for label, n in counted.by_request.items() if label != NO_REQUEST}


def test_a_journey_costs_one_transaction_per_request_and_two_where_a_write_waits_on_the_ehr(
    sandbox: Sandbox, transactions: EngineTransactions
) -> None:
    browser, page = launch_from_ehr(sandbox)
    assert page.url.endswith("/compose")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=referral_form(page.text), timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    assert _by_request(transactions) == EXPECTED
    assert sum(_by_request(transactions).values()) == 7  # 15 before a request's reads shared one transaction


def test_a_reload_of_the_compose_page_reads_nothing_twice(
    sandbox: Sandbox, transactions: EngineTransactions
) -> None:
    browser, page = launch_from_ehr(sandbox)
    transactions.clear()
    again = browser.get(page.url, timeout=30)
    assert again.status_code == 200 and 'name="reason"' in again.text
    assert _by_request(transactions) == {"GET /l/<launch_key>/compose": 1}
