"""A narrowed grant (the sandbox's ``withhold`` option) is said in plain words, over real HTTP."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from smart_app import create_app
from smart_app.config import Settings
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox, write_registration

pytestmark = pytest.mark.usefixtures("live_app")


def _service_requests(sandbox: Sandbox, patient: str) -> int:
    bundle = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/ServiceRequest", params={"patient": patient, "_summary": "count"}
    ).json()
    return int(bundle["total"])


def test_without_coverage_read_no_claim_is_shown_and_the_page_says_why(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox, patient="wc-1", withhold="patient/Coverage.rs")
    assert page.status_code == 200
    assert "did not let Second Opinion read this patient&#39;s coverage" in page.text
    assert "Not shown: the EHR did not allow reading coverage" in page.text
    assert "WC-2026-001234" not in page.text  # no claim number reached the page


def test_without_condition_read_the_form_still_works(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2", withhold="patient/Condition.rs")
    assert page.status_code == 200
    assert "read this patient&#39;s conditions" in page.text
    assert not form_fields(page.text).checkboxes.get("reason")
    before = _service_requests(sandbox, "wc-2")
    sent = browser.post(page.url.replace("/compose", "/referrals"),
                        data=referral_form(page.text, reason=[]), timeout=30)
    assert sent.status_code == 200
    assert _service_requests(sandbox, "wc-2") == before + 1


def test_without_service_request_write_the_page_says_so_before_typing(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-3", withhold="patient/ServiceRequest.crus")
    assert page.status_code == 200
    notice = page.text.index("permission to create referrals")
    assert notice < page.text.index("Questions for the physician")  # said before the ATP types
    assert 'disabled aria-describedby="cannot-send"' in page.text
    before = _service_requests(sandbox, "wc-3")
    refused = browser.post(page.url.replace("/compose", "/referrals"),
                           data=referral_form(page.text), timeout=30)
    assert refused.status_code == 403
    assert "permission to create referrals" in refused.text
    assert _service_requests(sandbox, "wc-3") == before


def test_without_patient_read_the_callback_refuses_in_plain_words(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox, patient="wc-1", withhold="patient/Patient.rs")
    assert page.status_code == 400
    assert "did not let Second Opinion read this patient&#39;s record" in page.text


def test_a_v1_registration_reads_a_narrowed_v1_grant(tmp_path: Path, app_settings: Settings,
                                                     sandbox: Sandbox) -> None:
    folder = tmp_path / "registrations"
    text = (write_registration(folder, sandbox) / "sandbox.toml").read_text()
    (folder / "sandbox.toml").write_text(text + 'scope_style = "v1"\n')
    app = create_app(app_settings.model_copy(update={
        "registrations": folder, "database_url": f"sqlite:///{tmp_path / 'app.sqlite3'}"})).test_client()
    to_app = requests.post(f"{sandbox.ehr_url}ehr/launch", allow_redirects=False, timeout=30,
                           data={"practitioner": "atp-1", "patient": "wc-1",
                                 "withhold": "patient/Coverage.read"})
    to_ehr = app.get(_path(to_app.headers["Location"]))
    scope = parse_qs(urlsplit(to_ehr.headers["Location"]).query)["scope"][0].split()
    assert "patient/Coverage.read" in scope and "patient/ServiceRequest.write" in scope
    back = requests.get(to_ehr.headers["Location"], allow_redirects=False, timeout=30)
    page = app.get(_path(app.get(_path(back.headers["Location"])).headers["Location"]))
    assert page.status_code == 200
    assert "read this patient&#39;s coverage" in page.text
    assert "permission to create referrals" not in page.text  # .write covers create


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_without_provenance_write_the_referral_is_still_sent_and_the_page_says_so(
    sandbox: Sandbox,
) -> None:
    """Many EHRs (the public sandboxes' registrations among them) grant no Provenance create."""
    browser, page = launch_from_ehr(sandbox, patient="wc-2", withhold="patient/Provenance.c")
    assert page.status_code == 200
    assert "record that Second Opinion wrote the referral" in page.text
    before = _service_requests(sandbox, "wc-2")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=referral_form(page.text), timeout=30)
    assert sent.status_code == 200 and "/referrals/" in sent.url, sent.text
    assert _service_requests(sandbox, "wc-2") == before + 1


def test_without_document_or_report_read_the_form_works_and_says_what_cannot_be_shared(
    sandbox: Sandbox,
) -> None:
    """Defect: the chart's batch asked for documents and reports anyway, and the page was a 403."""
    withheld = "patient/DocumentReference.crs patient/DiagnosticReport.rs patient/Binary.r"
    browser, page = launch_from_ehr(sandbox, patient="wc-2", withhold=withheld)
    assert page.status_code == 200, page.text
    assert "read this patient&#39;s documents (DocumentReference)" in page.text
    assert "read this patient&#39;s reports (DiagnosticReport)" in page.text
    before = _service_requests(sandbox, "wc-2")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=referral_form(page.text), timeout=30)
    assert sent.status_code == 200 and "/referrals/" in sent.url, sent.text
    assert _service_requests(sandbox, "wc-2") == before + 1
