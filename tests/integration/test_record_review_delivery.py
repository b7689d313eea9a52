"""A record review over real HTTP: the records themselves reach the clinic, once, or the send is
refused in plain words before anything is written."""

from __future__ import annotations

import base64
import html
import uuid
from typing import Any

import pytest
import requests
from flask import Flask

from smart_app.config import Settings
from smart_app.services import services
from smart_app.store import DeliveryRecord
from tests.clinic_ehr import bearer, physician_token
from tests.integration.test_delivery_loop import Worker, search
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

RECORDS = ["DocumentReference/wc-1-doc-1", "DiagnosticReport/wc-1-dr-1"]


def _send(
    browser: requests.Session, page: requests.Response, records: list[str]
) -> tuple[requests.Response, str]:
    data = referral_form(page.text, modality="record-review", record=records)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    return sent, str(data["referral_id"])


def _read(session: requests.Session, base: str, reference: str) -> dict[str, Any]:
    response = session.get(f"{base}/{reference}", timeout=30)
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def _redeliver(flask_app: Flask, referral_id: str) -> None:
    """As if the worker had died after the clinic stored the Bundle but before it recorded so."""
    with flask_app.app_context(), services().store.transaction() as db:
        row = db.get(DeliveryRecord, referral_id)
        assert row is not None and row.state == "sent"
        row.state, row.task_id = "pending", None


def test_a_record_review_delivers_the_records_themselves(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings, app_url: str
) -> None:
    ns, iss, clinic_base = app_settings.namespace, sandbox.fhir_base, sandbox.clinic_fhir_base
    browser, page = launch_from_ehr(sandbox)
    sent, referral_id = _send(browser, page, RECORDS)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    worker, clinic, ehr = Worker(flask_app), sandbox.admin_session(clinic=True), sandbox.admin_session()
    worker.run()

    [request] = search(clinic, clinic_base, "ServiceRequest", f"{ns}/sid/referral", referral_id)
    assert [i["display"] for i in request["supportingInfo"]] == ["Office visit note", "MRI of the lower back"]
    note, report = (_read(clinic, clinic_base, i["reference"]) for i in request["supportingInfo"])
    [patient] = search(clinic, clinic_base, "Patient", f"{ns}/sid/ehr-resource", f"{iss}/Patient/wc-1")
    for copy, source in zip((note, report), RECORDS, strict=True):
        assert copy["resourceType"] == source.split("/")[0]
        assert copy["identifier"][0] == {"system": f"{ns}/sid/ehr-resource", "value": f"{iss}/{source}"}
        assert copy["subject"] == {"reference": f"Patient/{patient['id']}"}
    ehr_note = _read(ehr, iss, RECORDS[0])
    assert note["content"] == ehr_note["content"]  # text/plain, inline at the EHR already
    assert note["author"] == [{"display": "Dr. Morgan Avery, MD"}] and "context" not in note
    [pdf] = report["presentedForm"]
    ehr_pdf = _read(ehr, iss, "Binary/wc-1-dr-1-pdf")
    assert (pdf["contentType"], pdf["title"]) == ("application/pdf", "Imaging report (PDF)")
    assert base64.b64decode(pdf["data"]) == base64.b64decode(ehr_pdf["data"])
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF-1.4") and "url" not in pdf
    [task] = search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)
    _the_physician_can_open_them(sandbox, app_url, task, [note, report])

    _redeliver(flask_app, referral_id)
    worker.run()
    for source in RECORDS:
        kind = source.split("/")[0]
        assert len(search(clinic, clinic_base, kind, f"{ns}/sid/ehr-resource", f"{iss}/{source}")) == 1
    assert len(search(clinic, clinic_base, "ServiceRequest", f"{ns}/sid/referral", referral_id)) == 1
    assert len(search(clinic, clinic_base, "Task", f"{ns}/sid/referral", referral_id)) == 1


def _the_physician_can_open_them(
    sandbox: Sandbox, app_url: str, task: dict[str, Any], records: list[dict[str, Any]]
) -> None:
    """The Task's owner, launched from the clinic's EHR, reads both records with their files."""
    owner = task["owner"]["reference"].removeprefix("PractitionerRole/")
    token = physician_token(sandbox, app_url, practitioner=owner, task=task["id"])
    for record in records:
        response = requests.get(f"{sandbox.clinic_fhir_base}/{record['resourceType']}/{record['id']}",
                                headers=bearer(token), timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json() == record


def _put(session: requests.Session, base: str, resource: dict[str, Any]) -> None:
    response = session.put(f"{base}/{resource['resourceType']}/{resource['id']}", json=resource,
                           headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"subject": {"reference": "Patient/wc-4"}},
         "may have been moved to another patient's chart or restricted"),
        ({"status": "entered-in-error"}, "was marked entered in error in the EHR"),
    ],
)
def test_a_record_that_changed_after_the_form_opened_is_refused(
    sandbox: Sandbox, app_settings: Settings, change: dict[str, Any], words: str
) -> None:
    ehr, title = sandbox.admin_session(), f"Physical therapy note {uuid.uuid4().hex[:6]}"
    document = {
        "resourceType": "DocumentReference", "id": f"wc-3-pt-{uuid.uuid4().hex[:8]}", "status": "current",
        "subject": {"reference": "Patient/wc-3"}, "date": "2026-03-01T09:00:00-07:00", "description": title,
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"PT").decode()}}],
    }  # fmt: skip
    _put(ehr, sandbox.fhir_base, document)
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    reference = f"DocumentReference/{document['id']}"
    assert reference in form_fields(page.text).checkboxes["record"]
    _put(ehr, sandbox.fhir_base, {**document, **change})  # in the EHR, while the ATP composes

    sent, referral_id = _send(browser, page, [reference])
    assert sent.status_code == 422
    text = html.unescape(sent.text)
    assert f"“{title}”" in text and words in text and "nothing was sent" in text
    typed = referral_form(page.text)["question"]
    assert form_fields(sent.text).textareas["question"][0] == typed[0]  # type: ignore[index]
    system = f"{app_settings.namespace}/sid/referral"
    assert search(ehr, sandbox.fhir_base, "ServiceRequest", system, referral_id) == []
