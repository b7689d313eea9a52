"""The closed loop over real HTTP: send, deliver, the clinic answers, the ATP sees it, the EHR holds it."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask

from smart_app.config import Settings
from smart_app.referrals.worker import deliverer_from_services
from smart_app.services import services, utcnow
from smart_app.smart.backend_services import BackendClient
from smart_app.store import DeliveryRecord, Store
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

QUESTIONS = ["Is the diagnosis of lumbar strain correct?", "Is the patient at MMI?"]
ANSWERS = ["Yes, the findings fit a lumbar strain.", "Not yet: six more weeks of therapy first."]


class Worker:
    """The app's own delivery worker, with a clock that can jump past backoff waits."""

    def __init__(self, flask_app: Flask, *, backend: bool = True) -> None:
        self.app, self.offset, self.backend = flask_app, timedelta(), backend

    def now(self) -> datetime:
        return utcnow() + self.offset

    def run(self) -> None:
        self.offset += timedelta(hours=1)
        with self.app.app_context():
            # {}: as if the EHR's registration had no Backend Services client
            backends: dict[str, BackendClient] | None = None if self.backend else {}
            deliverer_from_services(services(), "loop-worker", self.now, backends).run_once(limit=100)


def send(sandbox: Sandbox) -> tuple[requests.Session, str, str]:
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, question=QUESTIONS)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200
    return browser, str(data["referral_id"]), sent.url.rsplit("/referrals/", 1)[0]


def search(session: requests.Session, base: str, kind: str, system: str, value: str) -> list[dict[str, Any]]:
    bundle = session.get(f"{base}/{kind}", params={"identifier": f"{system}|{value}"}, timeout=30)
    bundle.raise_for_status()
    return [e["resource"] for e in bundle.json().get("entry", [])]


def clinic_sets(clinic: requests.Session, base: str, task: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The clinic updates its Task over FHIR REST, as the contract says."""
    updated = {**task, **changes}
    response = clinic.put(f"{base}/Task/{task['id']}", json=updated, timeout=30,
                          headers={"Content-Type": "application/fhir+json"})  # fmt: skip
    response.raise_for_status()
    return dict(response.json())


def answer(clinic: requests.Session, clinic_base: str, ns: str, task: dict[str, Any]) -> None:
    """The clinic attaches its letter and completes the Task with one answer per question."""
    letter = {"contentType": "text/plain", "data": base64.b64encode(b"Opinion letter").decode(),
              "title": "Second opinion letter"}  # fmt: skip
    document = clinic.post(f"{clinic_base}/DocumentReference", timeout=30, json={
        "resourceType": "DocumentReference", "status": "current", "content": [{"attachment": letter}],
    }, headers={"Content-Type": "application/fhir+json"}).json()  # fmt: skip
    io = f"{ns}/CodeSystem/task-io"
    outputs = [{"type": {"coding": [{"system": io, "code": "answer"}]}, "valueString": a} for a in ANSWERS]
    outputs.append({"type": {"coding": [{"system": io, "code": "opinion"}]},
                    "valueReference": {"reference": f"DocumentReference/{document['id']}"}})  # fmt: skip
    clinic_sets(clinic, clinic_base, task, status="completed", output=outputs)


def test_the_whole_loop(sandbox: Sandbox, flask_app: Flask, app_settings: Settings) -> None:
    ns, clinic_base = app_settings.namespace, sandbox.clinic_fhir_base
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), sandbox.admin_session(clinic=True)
    worker.run()
    [task] = search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)
    assert [i["valueString"] for i in task["input"]] == QUESTIONS
    assert (task["status"], task["intent"], task["owner"]["reference"][:17]) == (
        "requested", "order", "PractitionerRole/",
    )  # fmt: skip
    for status in ("received", "accepted", "in-progress"):
        task = clinic_sets(clinic, clinic_base, task, status=status)
        worker.run()
    answer(clinic, clinic_base, ns, task)
    worker.run()

    # Filed by the worker with SMART Backend Services: no ATP has opened anything since sending.
    ehr = sandbox.admin_session()
    [filed] = search(ehr, sandbox.fhir_base, "DocumentReference", f"{ns}/sid/referral", referral_id)
    [order] = search(ehr, sandbox.fhir_base, "ServiceRequest", f"{ns}/sid/referral", referral_id)
    assert filed["context"]["related"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    assert filed["type"]["coding"][0]["code"] == "11488-4"
    assert filed["content"][0]["attachment"]["title"] == "Second opinion letter"
    assert order["status"] == "completed"

    page = browser.get(f"{app}/referrals/{referral_id}/status", timeout=30)  # the old address redirects
    assert page.status_code == 200 and page.url.endswith(f"/referrals/{referral_id}")
    assert "Answered and filed" in page.text
    for question, answer_text in zip(QUESTIONS, ANSWERS, strict=True):
        assert page.text.index(question) < page.text.index(answer_text)  # each answer under its question
    assert QUESTIONS[1] not in page.text[: page.text.index(ANSWERS[0])]
    for step in ("opened the referral", "accepted the referral", "started the opinion", "signed the opinion"):
        assert f"The physician {step}" in page.text
    assert "Opinion filed to the patient&#39;s chart" in page.text
    assert "filed in the patient&#39;s chart" in page.text
    listing = browser.get(f"{app}/referrals", timeout=30)
    assert referral_id in listing.text and "Answered and filed" in listing.text


def test_without_a_backend_client_the_next_launch_files_the_opinion(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    ns, clinic_base = app_settings.namespace, sandbox.clinic_fhir_base
    _, referral_id, _ = send(sandbox)
    worker, clinic = Worker(flask_app, backend=False), sandbox.admin_session(clinic=True)
    worker.run()
    [task] = search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)
    answer(clinic, clinic_base, ns, task)
    worker.run()
    ehr = sandbox.admin_session()
    assert search(ehr, sandbox.fhir_base, "DocumentReference", f"{ns}/sid/referral", referral_id) == []

    browser, compose = launch_from_ehr(sandbox)  # the ATP opens the app again for this patient
    assert compose.status_code == 200
    [filed] = search(ehr, sandbox.fhir_base, "DocumentReference", f"{ns}/sid/referral", referral_id)
    assert filed["type"]["coding"][0]["code"] == "11488-4"
    [order] = search(ehr, sandbox.fhir_base, "ServiceRequest", f"{ns}/sid/referral", referral_id)
    assert order["status"] == "completed"
    app = compose.url.rsplit("/compose", 1)[0]
    assert "filed in the patient&#39;s chart" in browser.get(f"{app}/referrals/{referral_id}").text


def test_a_rejection_shows_its_reason_and_revokes_the_order(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    ns, clinic_base = app_settings.namespace, sandbox.clinic_fhir_base
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), sandbox.admin_session(clinic=True)
    worker.run()
    [task] = search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)
    clinic_sets(clinic, clinic_base, task, status="rejected", statusReason={"text": "Outside my scope"})
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30)
    assert "Declined by the physician" in page.text and "Outside my scope" in page.text
    [order] = search(
        sandbox.admin_session(), sandbox.fhir_base, "ServiceRequest", f"{ns}/sid/referral", referral_id
    )
    assert order["status"] == "revoked"


def test_another_physician_cannot_see_the_referral(sandbox: Sandbox, flask_app: Flask) -> None:
    _, referral_id, app = send(sandbox)
    other, page = launch_from_ehr(sandbox, practitioner="atp-2")
    assert page.status_code == 200
    own = page.url.rsplit("/compose", 1)[0]  # the other ATP's own launch prefix
    assert other.get(f"{own}/referrals/{referral_id}", timeout=30).status_code == 404
    assert referral_id not in other.get(f"{own}/referrals", timeout=30).text
    assert other.get(f"{app}/referrals/{referral_id}", timeout=30).status_code == 401


def test_a_dead_letter_shows_its_reason_and_try_again_needs_the_csrf_token(
    sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, referral_id, app = send(sandbox)
    with flask_app.app_context():
        with services().store.transaction() as db:  # as the worker leaves a refused delivery
            row = db.get(DeliveryRecord, referral_id)
            assert row is not None
            row.state, row.last_error = "dead", "The receiving clinic refused the referral (HTTP 422)."
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30)
    assert "The receiving clinic refused the referral (HTTP 422)." in page.text and "Try again" in page.text
    retry = f"{app}/referrals/{referral_id}/retry"
    assert browser.post(retry, data={"csrf_token": "forged"}, timeout=30).status_code == 400
    token = form_fields(page.text).hidden["csrf_token"]
    again = browser.post(retry, data={"csrf_token": token}, timeout=30)
    assert again.status_code == 200 and "You asked to try again" in again.text
    with flask_app.app_context():
        with services().store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id)
            assert row is not None and (row.state, row.last_error) == ("pending", None)


def _row(flask_app: Flask, referral_id: str) -> DeliveryRecord:
    store: Store = flask_app.extensions["second_opinion"].store
    with store.transaction() as db:
        row = db.get(DeliveryRecord, referral_id)
        assert row is not None
        return row


def _wait_for_the_ping(flask_app: Flask, referral_id: str) -> None:
    """Until the clinic's notification has made the Task's poll due (15 s at most)."""
    deadline = time.monotonic() + 15
    while _row(flask_app, referral_id).next_attempt_at > utcnow() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_the_clinic_pings_the_app_when_the_task_changes(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Where the clinic offers Subscriptions the app needs no poll to learn of a change."""
    ns, clinic_base = app_settings.namespace, sandbox.clinic_fhir_base
    _, referral_id, _ = send(sandbox)
    Worker(flask_app).run()  # delivered (its clock an hour ahead, so the next poll is far off)
    row = _row(flask_app, referral_id)
    assert row.subscription_id and row.hook_hash and row.next_attempt_at > utcnow() + timedelta(minutes=30)
    clinic = sandbox.admin_session(clinic=True)
    subscription = clinic.get(f"{clinic_base}/Subscription/{row.subscription_id}", timeout=30).json()
    assert subscription["channel"]["type"] == "rest-hook" and "payload" not in subscription["channel"]
    assert subscription["channel"]["endpoint"].startswith(f"{app_settings.public_url}/hooks/task/")
    assert referral_id in subscription["criteria"] and subscription["status"] == "active"

    [task] = search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)
    clinic_sets(clinic, clinic_base, task, status="accepted")
    _wait_for_the_ping(flask_app, referral_id)
    with flask_app.app_context():  # the real clock: only the ping made this poll due
        assert deliverer_from_services(services(), "hook-worker").run_once() == 1
    assert _row(flask_app, referral_id).task_status == "accepted"

    answer(clinic, clinic_base, ns, {**task, "status": "accepted"})
    _wait_for_the_ping(flask_app, referral_id)
    with flask_app.app_context():
        deliverer_from_services(services(), "hook-worker").run_once()
    assert _row(flask_app, referral_id).state == "closed"
    gone = clinic.get(f"{clinic_base}/Subscription/{row.subscription_id}", timeout=30)
    assert gone.status_code in (404, 410)  # the closed Task's Subscription was deleted


def test_an_unknown_hook_address_is_a_404_operation_outcome(sandbox: Sandbox, app_settings: Settings) -> None:
    for token in ("x" * 43, "../../etc", "a" * 500):
        answer_ = requests.post(f"{app_settings.public_url}/hooks/task/{token}", timeout=30,
                                headers={"Accept": "application/fhir+json"})
        assert answer_.status_code == 404
        assert answer_.json()["resourceType"] == "OperationOutcome"
    assert requests.get(f"{app_settings.public_url}/hooks/task/{'x' * 43}", timeout=30).status_code == 405
