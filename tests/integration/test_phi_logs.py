"""The sentinel patient's journey: its values and secrets are registered for the end-of-run log check.

The referral is a record review, so the sentinel's records (their text names the patient) are
read, their files fetched, and the whole Bundle delivered to the clinic by the worker.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from smart_app.referrals.worker import deliverer_from_services
from smart_app.services import services, utcnow
from smart_app.store import Launch
from tests.pages import form_fields, launch_from_ehr, launch_key, referral_form
from tests.phi_check import SENTINEL_PATIENT, SENTINEL_QUESTION, captured_logs, remember_secret
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def test_the_sentinel_journey_logs_events_and_our_ids_only(sandbox: Sandbox, flask_app: Flask) -> None:
    browser, page = launch_from_ehr(sandbox, patient=SENTINEL_PATIENT)
    assert "Quillfeatherby" in page.text  # the sentinel really is on the page
    for step in page.history:
        query = parse_qs(urlsplit(step.headers.get("Location", "")).query)
        for name in ("code", "state", "launch", "code_challenge", "nonce"):
            for value in query.get(name, []):
                remember_secret(value)
    cookie = next(iter(browser.cookies.values()))
    remember_secret(cookie)
    remember_secret(form_fields(page.text).hidden["csrf_token"])
    with flask_app.extensions["second_opinion"].store.transaction() as db:
        row = db.get(Launch, launch_key(page.url))
        assert row is not None
        remember_secret(row.access_token)
        remember_secret(row.refresh_token)
    records = [f"DocumentReference/{SENTINEL_PATIENT}-doc-1", f"DiagnosticReport/{SENTINEL_PATIENT}-dr-1"]
    data = referral_form(page.text, question=[SENTINEL_QUESTION], modality="record-review", record=records)
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 200 and SENTINEL_QUESTION in answer.text
    with flask_app.app_context():
        deliverer_from_services(services(), "phi-worker", utcnow).run_once(limit=100)
    logged, referral_id = captured_logs(), data["referral_id"]
    for event in ("launch.completed", f"referral.records_read id={referral_id} count=2",
                  f"referral.created id={referral_id}", f"referral.delivered id={referral_id}"):
        assert event in logged
