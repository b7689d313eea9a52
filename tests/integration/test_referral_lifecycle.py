"""The ATP's referral page through each stage, over real HTTP; the clinic plays its part by the contract.

The clinic's updates are the pure steps of fhir_mappings/task_workflow.py PUT over FHIR REST at the
sandbox clinic, exactly as the product's physician pages write them.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from flask import Flask

from fhir_mappings.domain import Conclusion, SignedOpinion
from fhir_mappings.task_workflow import (
    accepted_task,
    completed_task,
    on_hold_task,
    received_task,
    rejected_task,
    started_task,
)
from smart_app.config import Settings
from tests.integration.test_delivery_loop import QUESTIONS, Worker, search
from tests.pages import form_fields, launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

NOW = "2026-12-06T19:05:00Z"
ANSWERS = ("Yes: lumbar strain fits the findings.", "Not yet: six more weeks of therapy.")
CONCLUSION = Conclusion(mmi="not-reached", summary="Lumbar strain; not at MMI.", mmi_expected="8 to 12 weeks",
                        work_relatedness="work-related", work_restrictions="No lifting over 20 lb.",
                        treatment="Six more weeks of physical therapy.")  # fmt: skip
PHYSICIAN = {"reference": "PractitionerRole/so-1", "display": "Dr. Riley Chen, MD"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


class Clinic:
    """The receiving clinic's side over FHIR REST, with the contract's steps."""

    def __init__(self, sandbox: Sandbox, ns: str) -> None:
        self.http, self.base, self.ns = sandbox.admin_session(clinic=True), sandbox.clinic_fhir_base, ns

    def task(self, referral_id: str) -> dict[str, Any]:
        [task] = search(self.http, self.base, "Task", f"{self.ns}/sid/referral", referral_id)
        return task

    def put(self, task: dict[str, Any]) -> dict[str, Any]:
        response = self.http.put(f"{self.base}/Task/{task['id']}", json=task, timeout=30,
                                 headers={"Content-Type": "application/fhir+json"})  # fmt: skip
        response.raise_for_status()
        return dict(response.json())

    def sign(self, task: dict[str, Any]) -> dict[str, Any]:
        """The signed letter (a PDF DocumentReference) and the completed Task."""
        data = base64.b64encode(PDF).decode()
        letter = {"contentType": "application/pdf", "data": data, "title": "Opinion"}
        document = self.http.post(f"{self.base}/DocumentReference", timeout=30, json={
            "resourceType": "DocumentReference", "status": "current", "content": [{"attachment": letter}],
        }, headers={"Content-Type": "application/fhir+json"}).json()  # fmt: skip
        opinion = SignedOpinion(ANSWERS, CONCLUSION, f"DocumentReference/{document['id']}")
        return self.put(completed_task(started_task(task, NOW), NOW, opinion, self.ns))


def send(sandbox: Sandbox, patient: str = "wc-1", **overrides: object) -> tuple[requests.Session, str, str]:
    """Send a referral as the ATP; the browser, the referral id and the launch's URL prefix."""
    browser, page = launch_from_ehr(sandbox, patient=patient)
    data = referral_form(page.text, question=QUESTIONS, physician="PractitionerRole/so-1", **overrides)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    return browser, str(data["referral_id"]), sent.url.rsplit("/referrals/", 1)[0]


def ehr_search(sandbox: Sandbox, kind: str, **params: str) -> list[dict[str, Any]]:
    bundle = sandbox.admin_session().get(f"{sandbox.fhir_base}/{kind}", params=params, timeout=30).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def test_delivered_then_accepted_with_its_visit(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Defects: the status said "Requested" beside "Delivered" in the history; "accepted" never showed."""
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), Clinic(sandbox, app_settings.namespace)
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert 'data-stage="delivered">Delivered to the receiving clinic<' in page and "Requested" not in page
    clinic.put(accepted_task(received_task(clinic.task(referral_id), NOW), NOW, app_settings.namespace,
                             visit="2026-12-10T09:00:00-07:00"))  # fmt: skip
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert 'data-stage="accepted">Accepted<' in page
    assert '<dd class="visit"><time datetime="2026-12-10T16:00:00Z">2026-12-10 09:00 MST</time>' in page
    assert "The physician accepted the referral" in page


def test_answered_the_conclusion_first_the_letter_opens_and_the_opinion_is_filed_with_provenance(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), Clinic(sandbox, app_settings.namespace)
    worker.run()
    clinic.sign(accepted_task(clinic.task(referral_id), NOW, app_settings.namespace))
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert 'data-stage="filed">Answered and filed<' in page
    order = [page.index(t) for t in ("Not yet at MMI; expected: 8 to 12 weeks", "Work-related",
                                     "No lifting over 20 lb.", "Six more weeks of physical therapy.",
                                     "Lumbar strain; not at MMI.", QUESTIONS[0], ANSWERS[0], QUESTIONS[1],
                                     ANSWERS[1])]  # fmt: skip
    assert order == sorted(order)  # MMI first, then the rest, then each answer beside its question
    # Defect: "The clinic attached its opinion letter" had no link to open it.
    letter = browser.get(f"{app}/referrals/{referral_id}/opinion", timeout=30)
    assert letter.status_code == 200 and letter.content == PDF
    assert letter.headers["Content-Type"] == "application/pdf"
    assert letter.headers["Content-Disposition"].startswith('inline; filename="second-opinion-')
    assert letter.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert letter.headers["X-Content-Type-Options"] == "nosniff"
    assert letter.headers["Cache-Control"] == "no-store"
    download = browser.get(f"{app}/referrals/{referral_id}/opinion", params={"download": "1"}, timeout=30)
    assert download.headers["Content-Disposition"].startswith("attachment;")

    ns = app_settings.namespace
    [filed] = ehr_search(sandbox, "DocumentReference", identifier=f"{ns}/sid/referral|{referral_id}")
    text = base64.b64decode(filed["content"][1]["attachment"]["data"]).decode()
    assert text.startswith("Maximum medical improvement: Not yet at MMI; expected: 8 to 12 weeks\n")
    assert text.index(f"Question 1: {QUESTIONS[0]}\nAnswer: {ANSWERS[0]}") > text.index("Summary:")
    [provenance] = ehr_search(sandbox, "Provenance", target=f"DocumentReference/{filed['id']}")
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["author", "transmitter"]
    assert provenance["agent"][0]["who"]["reference"] == "PractitionerRole/so-1"
    [order_sr] = ehr_search(sandbox, "ServiceRequest", identifier=f"{ns}/sid/referral|{referral_id}")
    assert order_sr["status"] == "completed"
    [changed] = ehr_search(sandbox, "Provenance", target=f"ServiceRequest/{order_sr['id']}",
                           _sort="-_lastUpdated", _count="1")  # fmt: skip
    assert changed["activity"]["coding"][0]["code"] == "UPDATE"


def test_declined_with_its_reason_then_sent_to_another_physician(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Defect: after a rejection the page said the opinion was filed. Then the re-route, nothing retyped."""
    ns = app_settings.namespace
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), Clinic(sandbox, ns)
    worker.run()
    clinic.put(rejected_task(clinic.task(referral_id), NOW, "outside-expertise", "Spine cases only.", ns))
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert 'data-stage="declined">Declined by the physician<' in page
    assert "Reason: Outside my expertise: Spine cases only." in page
    assert "filed" not in page.replace("filed in the EHR", "")  # neither the status nor the history
    [declined_order] = ehr_search(sandbox, "ServiceRequest", identifier=f"{ns}/sid/referral|{referral_id}")
    assert declined_order["status"] == "revoked"

    form = browser.get(f"{app}/referrals/{referral_id}/reroute", timeout=30)
    fields = form_fields(form.text)
    options = {o.value: o for o in fields.selects["physician"]}
    assert "PractitionerRole/so-1" not in options and options["PractitionerRole/so-7"].disabled  # related
    data = {**fields.hidden, "physician": "PractitionerRole/so-2"}
    assert browser.post(f"{app}/referrals/{referral_id}/reroute", data={**data, "csrf_token": "x"},
                        timeout=30).status_code == 400  # fmt: skip
    moved = browser.post(f"{app}/referrals/{referral_id}/reroute", data=data, timeout=30)
    assert moved.status_code == 200 and "Referral sent" in moved.text
    new_id = fields.hidden["referral_id"]
    assert f"/referrals/{referral_id}" in moved.text  # the new page links the declined one
    worker.run()
    task = clinic.task(new_id)
    assert task["owner"]["reference"] == "PractitionerRole/so-2"
    assert [i["valueString"] for i in task["input"]] == QUESTIONS
    assert clinic.task(referral_id)["status"] == "rejected"  # the declined Task is left as it is
    due = clinic.task(referral_id)["restriction"]["period"]["end"]
    assert task["restriction"] == {"period": {"end": due}}  # the due date goes with it, not retyped
    [new_order] = ehr_search(sandbox, "ServiceRequest", identifier=f"{ns}/sid/referral|{new_id}")
    assert new_order["replaces"] == [{"reference": f"ServiceRequest/{declined_order['id']}",
                                      "identifier": {"system": f"{ns}/sid/referral", "value": referral_id}}]
    assert new_order["reasonReference"] == declined_order["reasonReference"]
    assert new_order["orderDetail"] == declined_order["orderDetail"]
    old = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert 'data-stage="rerouted"' in old and f"/referrals/{new_id}" in old


def test_cancel_revokes_the_order_and_cancels_the_task(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    ns = app_settings.namespace
    browser, referral_id, app = send(sandbox)
    worker, clinic = Worker(flask_app), Clinic(sandbox, ns)
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30)
    token = form_fields(page.text).hidden["csrf_token"]
    url = f"{app}/referrals/{referral_id}/cancel"
    assert browser.post(url, data={"csrf_token": token, "reason": " "}, timeout=30).status_code == 422
    reason = "The worker returned to full duty."
    done = browser.post(url, data={"csrf_token": token, "reason": reason}, timeout=30)
    assert done.status_code == 200 and 'data-stage="cancelled"' in done.text
    [order] = ehr_search(sandbox, "ServiceRequest", identifier=f"{ns}/sid/referral|{referral_id}")
    assert order["status"] == "revoked"
    assert ehr_search(sandbox, "Provenance", target=f"ServiceRequest/{order['id']}", _count="5")
    worker.run()
    task = clinic.task(referral_id)
    assert (task["status"], task["statusReason"]["text"]) == ("cancelled", reason)
    shown = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert "You cancelled this referral" in shown and "The referral is cancelled at the clinic" in shown
    assert browser.post(url, data={"csrf_token": token, "reason": "again"}, timeout=30).status_code == 409


def test_on_hold_the_records_asked_for_are_delivered_and_an_amended_record_travels(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    ns, iss = app_settings.namespace, sandbox.fhir_base
    browser, referral_id, app = send(sandbox, patient="wc-4", modality="record-review",
                                     record=["DocumentReference/wc-4-doc-1"])  # fmt: skip
    worker, clinic = Worker(flask_app), Clinic(sandbox, ns)
    worker.run()
    ehr = sandbox.admin_session()
    note = ehr.get(f"{iss}/DocumentReference/wc-4-doc-1", timeout=30).json()
    amended = {**note, "description": f"{note.get('description', 'Visit note')} (amended)"}
    ehr.put(f"{iss}/DocumentReference/wc-4-doc-1", json=amended, timeout=30,
            headers={"Content-Type": "application/fhir+json"}).raise_for_status()  # fmt: skip
    held = on_hold_task(accepted_task(clinic.task(referral_id), NOW, ns), NOW,
                        "Please send the work status report and the visit note again.",
                        PHYSICIAN, ns)  # fmt: skip
    clinic.put(held)
    worker.run()
    page = browser.get(f"{app}/referrals/{referral_id}", timeout=30).text
    assert "Please send the work status report and the visit note again." in page
    picker = browser.get(f"{app}/referrals/{referral_id}/records", timeout=30)
    token = form_fields(picker.text).hidden["csrf_token"]
    chosen = ["DocumentReference/wc-4-doc-1", "DocumentReference/wc-4-doc-2"]
    added = browser.post(f"{app}/referrals/{referral_id}/records",
                         data={"csrf_token": token, "record": chosen}, timeout=30)  # fmt: skip
    assert added.status_code == 200 and "your records are on their way" in added.text
    worker.run()
    task = clinic.task(referral_id)
    assert task["status"] == "in-progress"
    inputs = [i for i in task["input"] if i["type"]["coding"][0]["code"] == "record"]
    assert len(inputs) == 2
    copies = search(clinic.http, clinic.base, "DocumentReference", f"{ns}/sid/ehr-resource",
                    f"{iss}/DocumentReference/wc-4-doc-1")  # fmt: skip
    assert len(copies) == 2  # the first copy and the amended one
    assert any("(amended)" in (c.get("description") or "") for c in copies)
    [request] = search(clinic.http, clinic.base, "ServiceRequest", f"{ns}/sid/referral", referral_id)
    named = {s["reference"] for s in request["supportingInfo"]}
    assert {i["valueReference"]["reference"] for i in inputs} <= named
    assert "The records you added reached the clinic" in browser.get(f"{app}/referrals/{referral_id}").text


def test_from_a_launch_for_another_patient_the_pages_open_and_writes_ask_for_that_chart(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    _, referral_id, app = send(sandbox)
    Worker(flask_app).run()
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    other = app.replace(launch_key(app + "/"), launch_key(page.url))
    shown = browser.get(f"{other}/referrals/{referral_id}", timeout=30)
    assert shown.status_code == 200 and "open " in shown.text and "chart in the EHR" in shown.text
    assert "Cancel the referral" not in shown.text
    token = form_fields(page.text).hidden["csrf_token"]
    refused = browser.post(f"{other}/referrals/{referral_id}/cancel",
                           data={"csrf_token": token, "reason": "x"}, timeout=30)  # fmt: skip
    assert refused.status_code == 409 and "chart in the EHR" in refused.text
    listing = browser.get(f"{other}/referrals", params={"number": referral_number(shown.text)}, timeout=30)
    assert listing.text.count(f"/referrals/{referral_id}") == 2  # found by its number: one row, two links


def referral_number(page: str) -> str:
    start = page.index('class="referral-number">') + len('class="referral-number">')
    return page[start:start + 9]
