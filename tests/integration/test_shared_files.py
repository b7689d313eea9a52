"""A record review sends only files a clinic can open, whose bytes are what they say, over HTTP.

The probe found the record review forwarding any file as it was: an executable type, HTML
inside a file labelled PDF, a title like ``../../../../etc/passwd\\0.pdf``. Now such a file is
refused on the compose page, by the record's name and in plain words, with the form kept and
nothing written; a hostile title is cleaned in the clinic's copy.
"""

from __future__ import annotations

import base64
import html
import uuid
from typing import Any

import pytest
import requests
from flask import Flask

from smart_app.config import Settings
from tests.integration.test_delivery_loop import Worker, search
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

HTML = b"<html><body><script>alert(1)</script></body></html>"
CDA = b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><title>Note</title></ClinicalDocument>'
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
          b'<ClinicalDocument xmlns="urn:hl7-org:v3">&lol2;</ClinicalDocument>')


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _put(session: requests.Session, base: str, resource: dict[str, Any]) -> None:
    response = session.put(f"{base}/{resource['resourceType']}/{resource['id']}", json=resource,
                           headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert response.status_code in (200, 201), response.text


def _document(
    sandbox: Sandbox, attachment: dict[str, Any], binary: dict[str, Any] | None = None
) -> tuple[str, str]:
    """A DocumentReference of wc-3 carrying ``attachment`` (and its Binary); (reference, title)."""
    ehr, suffix = sandbox.admin_session(), uuid.uuid4().hex[:8]
    title = f"Outside records {suffix}"
    if binary is not None:
        binary = {"resourceType": "Binary", "id": f"wc-3-file-{suffix}", **binary,
                  "securityContext": {"reference": f"DocumentReference/wc-3-file-{suffix}"}}  # as it is
        _put(ehr, sandbox.fhir_base, binary)
        attachment = {**attachment, "url": f"Binary/{binary['id']}"}
    document = {
        "resourceType": "DocumentReference", "id": f"wc-3-file-{suffix}", "status": "current",
        "subject": {"reference": "Patient/wc-3"}, "date": "2026-03-02T09:00:00-07:00", "description": title,
        "content": [{"attachment": attachment}],
    }  # fmt: skip
    _put(ehr, sandbox.fhir_base, document)
    return f"DocumentReference/{document['id']}", title


REFUSED = {
    "an executable": ({"contentType": "application/x-msdownload", "data": _b64(b"MZ\x90\x00")}, None,
                      "is of type application/x-msdownload, which Second Opinion does not send"),
    "HTML labelled PDF": ({"contentType": "application/pdf", "data": _b64(HTML)}, None,
                          "is labelled a PDF, but what it holds is not a PDF"),
    "HTML in a PDF Binary": ({"contentType": "application/pdf"},
                             {"contentType": "application/pdf", "data": _b64(HTML)},
                             "is labelled a PDF, but what it holds is not a PDF"),
    "HTML as text": ({"contentType": "text/plain", "data": _b64(HTML)}, None,
                     "is labelled plain text, but what it holds is not plain text"),
    "HTML itself": ({"contentType": "text/html", "data": _b64(HTML)}, None, "is of type text/html"),
    "XML with entities": ({"contentType": "application/xml", "data": _b64(LAUGHS)}, None,
                          "is an XML file with a document type declaration"),
    "no type": ({"data": _b64(b"%PDF-1.4")}, None, "does not say what type of file it is"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_file_a_clinic_should_not_open_is_refused_by_name_keeping_the_form(
    sandbox: Sandbox, app_settings: Settings, name: str
) -> None:
    attachment, binary, words = REFUSED[name]
    reference, title = _document(sandbox, attachment, binary)
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    assert reference in form_fields(page.text).checkboxes["record"]
    data = referral_form(page.text, modality="record-review", record=[reference])
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 422, sent.status_code
    text = html.unescape(sent.text)
    assert f"The file of “{title}” {words}" in text and "nothing was sent" in text
    assert form_fields(sent.text).textareas["question"][0] == data["question"][0]  # type: ignore[index]
    system = f"{app_settings.namespace}/sid/referral"
    assert search(sandbox.admin_session(), sandbox.fhir_base, "ServiceRequest", system,
                  str(data["referral_id"])) == []


def test_a_cda_document_and_a_hostile_title_reach_the_clinic_cleaned(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    reference, _ = _document(sandbox, {"contentType": "text/xml", "data": _b64(CDA),
                                       "title": "../../../../etc/passwd\u0000.xml"})
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    data = referral_form(page.text, modality="record-review", record=[reference])
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    Worker(flask_app).run()
    ns, clinic = app_settings.namespace, sandbox.admin_session(clinic=True)
    [copy] = search(clinic, sandbox.clinic_fhir_base, "DocumentReference", f"{ns}/sid/ehr-resource",
                    f"{sandbox.fhir_base}/{reference}")
    [content] = copy["content"]
    assert content["attachment"]["title"] == "etc-passwd.xml"
    assert base64.b64decode(content["attachment"]["data"]) == CDA
