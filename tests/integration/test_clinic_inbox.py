"""The sandbox clinic's inbox page, over real HTTP: a referral Task from received to completed."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any

import requests

from tests.clinic_referral import (
    TASK_IO,
    Delivered,
    csrf_token,
    deliver,
    inbox_url,
    task_status,
)
from tests.sandbox_server import Sandbox

QUESTIONS = ["Is the diagnosis of lumbar strain correct?", "Is the patient at MMI?"]


def _open(sandbox: Sandbox, task_id: str, physician: str = "so-1"
          ) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    page = browser.get(f"{inbox_url(sandbox)}/tasks/{task_id}",
                       params={"physician": physician}, timeout=10)
    return browser, page


def _act(browser: requests.Session, sandbox: Sandbox, task_id: str, action: str,
         page: str, **fields: Any) -> requests.Response:
    data = {"csrf_token": csrf_token(page), "physician": "so-1", **fields}
    files = fields.pop("files", None)
    data.pop("files", None)
    return browser.post(f"{inbox_url(sandbox)}/tasks/{task_id}/{action}", data=data,
                        files=files, timeout=10)


def _read(sandbox: Sandbox, reference: str) -> dict[str, Any]:
    response = sandbox.admin_session(clinic=True).get(f"{sandbox.clinic_fhir_base}/{reference}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _to_in_progress(sandbox: Sandbox, delivered: Delivered) -> tuple[requests.Session, str]:
    browser, page = _open(sandbox, delivered.task_id)
    for action, status in (("receive", "received"), ("accept", "accepted"),
                           ("start", "in-progress")):
        page = _act(browser, sandbox, delivered.task_id, action, page.text)
        assert page.status_code == 200 and task_status(page.text) == status
    return browser, page.text


def test_the_inbox_lists_the_delivered_task(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    page = requests.get(inbox_url(sandbox), params={"physician": "so-1"}, timeout=10)
    assert page.status_code == 200
    assert "Sandbox only" in page.text
    assert f"Open referral {delivered.task_id}" in page.text
    other = requests.get(inbox_url(sandbox), params={"physician": "so-2"}, timeout=10)
    assert f"Open referral {delivered.task_id}" not in other.text


def test_the_task_page_shows_questions_scope_patient_and_reasons(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    _, page = _open(sandbox, delivered.task_id)
    assert page.status_code == 200 and task_status(page.text) == "requested"
    for text in (*QUESTIONS, "Opinion only: no transfer of care", "Telehealth",
                 "rendering an opinion only", "Rosa Quintana", "1984-03-12", "Lumbar strain",
                 "Mark received"):
        assert text in page.text


def test_complete_writes_the_answers_and_the_letter(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    browser, page = _to_in_progress(sandbox, delivered)
    before = _read(sandbox, f"Task/{delivered.task_id}")
    done = _act(browser, sandbox, delivered.task_id, "complete", page,
                **{"answer-1": "Yes, lumbar strain.", "answer-2": "Not yet; in 6 weeks.",
                   "letter_text": "Dear Dr. Atwood, my opinion follows."})
    assert done.status_code == 200 and task_status(done.text) == "completed"
    task = _read(sandbox, f"Task/{delivered.task_id}")
    assert task["status"] == "completed"
    unchanged = set(before) - {"meta", "status", "lastModified"}
    assert {key: task[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert set(task) == set(before) | {"output"}
    outputs = task["output"]
    assert [(o["type"]["coding"][0]["system"], o["type"]["coding"][0]["code"]) for o in outputs] \
        == [(TASK_IO, "answer"), (TASK_IO, "answer"), (TASK_IO, "opinion")]
    assert [o.get("valueString") for o in outputs[:2]] == ["Yes, lumbar strain.",
                                                           "Not yet; in 6 weeks."]
    document = _read(sandbox, outputs[2]["valueReference"]["reference"])
    assert document["status"] == "current"
    assert document["type"]["coding"][0] == {"system": "http://loinc.org", "code": "11488-4",
                                             "display": "Consult note"}
    category = document["category"][0]["coding"][0]
    assert (category["system"], category["code"]) == (
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
        "clinical-note")
    assert document["subject"]["reference"] == f"Patient/{delivered.patient_id}"
    assert document["context"]["related"] == [
        {"reference": f"ServiceRequest/{delivered.service_request_id}"}]
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "text/plain"
    assert base64.b64decode(attachment["data"]) == b"Dear Dr. Atwood, my opinion follows."
    assert attachment["title"] and attachment["creation"]
    assert document["author"] == [{"reference": "PractitionerRole/so-1",
                                   "display": "Dr. Riley Chen, MD"}]
    assert set(document) == {"resourceType", "id", "meta", "status", "type", "category",
                             "subject", "date", "author", "context", "content"}


def test_a_pdf_letter_is_kept_as_a_pdf(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS[:1])
    browser, page = _to_in_progress(sandbox, delivered)
    pdf = b"%PDF-1.4\n% a tiny letter\n%%EOF\n"
    done = _act(browser, sandbox, delivered.task_id, "complete", page,
                **{"answer-1": "Yes.", "files": {"letter_file": ("opinion.pdf", pdf)}})
    assert task_status(done.text) == "completed"
    task = _read(sandbox, f"Task/{delivered.task_id}")
    attachment = _read(sandbox, task["output"][-1]["valueReference"]["reference"])["content"][0]
    assert attachment["attachment"]["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["attachment"]["data"]) == pdf


def test_complete_needs_every_answer_and_a_letter(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    browser, page = _to_in_progress(sandbox, delivered)
    refused = _act(browser, sandbox, delivered.task_id, "complete", page,
                   **{"answer-1": "Yes.", "answer-2": "  "})
    assert refused.status_code == 422
    assert "Answer this question." in refused.text and "Write the opinion letter" in refused.text
    assert _read(sandbox, f"Task/{delivered.task_id}")["status"] == "in-progress"


def test_reject_needs_a_reason_and_keeps_it(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    browser, page = _open(sandbox, delivered.task_id)
    page = _act(browser, sandbox, delivered.task_id, "receive", page.text)
    refused = _act(browser, sandbox, delivered.task_id, "reject", page.text, reason=" ")
    assert refused.status_code == 422 and "Give the reason for rejecting." in refused.text
    assert _read(sandbox, f"Task/{delivered.task_id}")["status"] == "received"
    done = _act(browser, sandbox, delivered.task_id, "reject", page.text,
                reason="I treated this patient before.")
    assert task_status(done.text) == "rejected"
    task = _read(sandbox, f"Task/{delivered.task_id}")
    assert (task["status"], task["statusReason"]) == (
        "rejected", {"text": "I treated this patient before."})
    assert "output" not in task


def test_a_form_without_the_csrf_token_is_refused(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    browser, page = _open(sandbox, delivered.task_id)
    url = f"{inbox_url(sandbox)}/tasks/{delivered.task_id}/receive"
    for token in (None, "forged"):
        data = {"physician": "so-1", **({"csrf_token": token} if token else {})}
        refused = browser.post(url, data=data, timeout=10)
        assert refused.status_code == 400 and "Reload it and try again" in refused.text
    stranger = requests.post(url, data={"physician": "so-1", "csrf_token": csrf_token(page.text)},
                             timeout=10)  # the token without the browser's cookie
    assert stranger.status_code == 400
    assert _read(sandbox, f"Task/{delivered.task_id}")["status"] == "requested"


def test_bad_ids_and_wrong_steps_answer_in_plain_words(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    for path in ("/tasks/no-such-task", "/tasks/bad%20id", "?physician=so-99"):
        missing = requests.get(f"{inbox_url(sandbox)}{path}", timeout=10)
        assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    browser, page = _open(sandbox, delivered.task_id)
    assert _act(browser, sandbox, delivered.task_id, "finish", page.text).status_code == 404
    early = _act(browser, sandbox, delivered.task_id, "accept", page.text)
    assert early.status_code == 409 and "not ready for that step" in early.text
    someone_else = _act(browser, sandbox, delivered.task_id, "receive", page.text,
                        physician="so-2")
    assert someone_else.status_code == 403


def test_the_clinic_still_hides_sekmets_own_ui(sandbox: Sandbox) -> None:
    root = inbox_url(sandbox).removesuffix("/inbox")
    assert requests.get(f"{root}/ui", timeout=10).status_code == 404
    assert requests.get(f"{root}/inboxes", timeout=10).status_code == 404


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


SHARED_PDF = b"%PDF-1.4\n% a synthetic imaging report\n%%EOF\n"
SHARED = [
    {"resourceType": "DocumentReference", "status": "current", "description": "Office visit note",
     "type": {"text": "Clinical note"}, "date": "2026-02-10T10:00:00-07:00",
     "content": [{"attachment": {"contentType": "text/plain", "title": "Visit note",
                                 "data": _b64(b"Synthetic visit note.")}},
                 {"attachment": {"contentType": "text/html", "title": "Visit note (HTML)",
                                 "data": _b64(b"<script>alert(1)</script>")}}]},
    {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "MRI of the lower back"},
     "effectiveDateTime": "2025-11-03T14:00:00-07:00",
     "presentedForm": [{"contentType": "application/pdf", "title": "MRI report",
                        "data": _b64(SHARED_PDF)}]},
]


def _style_hash(page: str) -> str:
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None
    return "'sha256-" + base64.b64encode(hashlib.sha256(style[1].encode()).digest()).decode() + "'"


def test_the_task_page_lists_the_shared_records_and_serves_their_files(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS, records=SHARED)
    _, page = _open(sandbox, delivered.task_id)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", html.unescape(page.text))
    assert rows == [("Office visit note", "2026-02-10", "Document: Clinical note"),
                    ("MRI of the lower back", "2025-11-03", "Diagnostic report")]
    links = dict((name, href) for href, name in re.findall(r'<a href="([^"]*/records/[^"]*)">([^<]*)</a>',
                                                              html.unescape(page.text)))
    assert list(links) == ["Visit note", "Visit note (HTML)", "MRI report"]
    root = inbox_url(sandbox).removesuffix("/inbox")
    expected = {
        "Visit note": ("text/plain", 'attachment; filename="Visit-note.txt"', b"Synthetic visit note."),
        "Visit note (HTML)": ("text/html", 'attachment; filename="Visit-note-HTML.html"',
                              b"<script>alert(1)</script>"),
        "MRI report": ("application/pdf", 'inline; filename="MRI-report.pdf"', SHARED_PDF),
    }
    for name, (content_type, disposition, body) in expected.items():
        served = requests.get(f"{root}{links[name]}", timeout=10)
        assert served.status_code == 200
        assert (served.headers["Content-Type"], served.headers["Content-Disposition"]) == (
            content_type, disposition)
        assert served.content == body
        csp = served.headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'") and "frame-ancestors 'none'" in csp
        assert csp.endswith("; sandbox") == disposition.startswith("attachment")
        assert (served.headers["X-Content-Type-Options"], served.headers["Cache-Control"],
                served.headers["X-Frame-Options"]) == ("nosniff", "no-store", "DENY")
    files = f"{inbox_url(sandbox)}/tasks/{delivered.task_id}/records"
    for missing in ("3/files/1", "1/files/3", "0/files/1", "2/files/0"):
        assert requests.get(f"{files}/{missing}", timeout=10).status_code == 404
    assert page.headers["Content-Security-Policy"] == (
        f"default-src 'none'; style-src {_style_hash(page.text)}; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'")


def test_a_referral_without_records_says_so(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS)
    _, page = _open(sandbox, delivered.task_id)
    assert re.search(r"<dt>Shared records</dt>\s*<dd>—</dd>", page.text)
