"""The sentinel patient's journey: its values and secrets are registered for the end-of-run log check.

The referral is a record review, so the sentinel's records (their text names the patient) are
read, their files fetched, and the whole Bundle delivered to the clinic by the worker.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask import Flask

from smart_app.referrals.worker import deliverer_from_services
from smart_app.services import services, utcnow
from smart_app.store import Launch
from tests.clinic_ehr import clinic_root
from tests.pages import browser_session, form_fields, launch_from_ehr, launch_key, referral_form
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
    data = referral_form(page.text, question=[SENTINEL_QUESTION], modality="record-review", record=records,
                         physician="PractitionerRole/so-1")  # fmt: skip
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 200 and SENTINEL_QUESTION in answer.text
    with flask_app.app_context():
        deliverer_from_services(services(), "phi-worker", utcnow).run_once(limit=100)
    logged, referral_id = captured_logs(), data["referral_id"]
    for event in ("launch.completed", f"referral.records_read id={referral_id} count=2",
                  f"referral.created id={referral_id}", f"referral.delivered id={referral_id}"):
        assert event in logged

    _the_physician_answers_the_sentinel(sandbox, flask_app, str(referral_id))


def _the_physician_answers_the_sentinel(sandbox: Sandbox, flask_app: Flask, referral_id: str) -> None:
    """The sentinel referral opened, its record file viewed, answered and signed: still nothing logged."""
    doctor = browser_session()
    worklist = doctor.post(f"{clinic_root(sandbox)}/ehr/launch", data={"practitioner": "so-1"}, timeout=30)
    remember_secret(next(iter(doctor.cookies.values())))
    link = next(url for url in re.findall(r'href="([^"]*/incoming/[^"]+)"', worklist.text)
                if referral_id[:8] in doctor.get(urljoin(worklist.url, url), timeout=30).text)  # fmt: skip
    page = doctor.get(urljoin(worklist.url, link), timeout=30)
    assert "Quillfeatherby" in page.text
    file_link = re.search(r'href="([^"]*/records/1/files/1)"', page.text)
    assert file_link and doctor.get(urljoin(page.url, file_link.group(1)), timeout=30).status_code == 200
    token = form_fields(page.text).hidden["csrf_token"]
    remember_secret(token)
    doctor.post(page.url + "/accept", data={"csrf_token": token}, timeout=30)
    signed = doctor.post(page.url + "/sign", timeout=30, data={
        "csrf_token": token, "answer-1": "Quillfeatherby needs no surgery.", "mmi": "reached",
        "mmi_date": "1947-07-13", "work_relatedness": "work-related", "work_restrictions": "none",
        "treatment": "Sentinel tendinopathy exercises.", "summary": "Quillfeatherby is at MMI.",
        "attest": "yes",
    })  # fmt: skip
    assert "Signed and returned" in signed.text
    with flask_app.app_context():
        deliverer_from_services(services(), "phi-worker", utcnow).run_once(limit=100)
    assert "answering.signed" in captured_logs()
