"""The composer over real HTTP against the sandbox EHR: visit types, records, the directory's
verdicts, the IME guard, limits, and the Provenance written with every ServiceRequest."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests

from fhir_mappings.codes import MODALITY_DISPLAY
from fhir_mappings.rules import MAX_QUESTION_LENGTH, MAX_QUESTIONS
from smart_app.chart.directory import load_directory
from smart_app.chart.fhir_client import FhirClient
from smart_app.config import Settings
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox
from tests.us_core import us_core_problems

pytestmark = pytest.mark.usefixtures("live_app")


def _search(sandbox: Sandbox, resource_type: str, **params: str) -> list[dict[str, Any]]:
    bundle = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/{resource_type}", params=params, timeout=30
    ).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def _written(sandbox: Sandbox, settings: Settings, referral_id: object) -> list[dict[str, Any]]:
    found = _search(
        sandbox, "ServiceRequest", identifier=f"{settings.namespace}/sid/referral|{referral_id}"
    )
    for resource in found:
        assert us_core_problems(resource, {"encounter"}) == []
    return found


def _send(
    browser: requests.Session, page: requests.Response, **overrides: object
) -> tuple[requests.Response, dict[str, object]]:
    data = referral_form(page.text, **overrides)
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    return answer, data


def test_in_person_referral_has_a_window_and_a_provenance(
    sandbox: Sandbox, app_settings: Settings
) -> None:
    browser, page = launch_from_ehr(sandbox)
    start, end = date.today() + timedelta(days=2), date.today() + timedelta(days=20)
    sent, data = _send(
        browser, page, modality="in-person", window_start=start.isoformat(),
        window_end=end.isoformat(), physician="PractitionerRole/so-1",
    )
    assert sent.status_code == 200 and "Referral sent" in sent.text
    [resource] = _written(sandbox, app_settings, data["referral_id"])
    assert resource["occurrencePeriod"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert resource["insurance"][0]["display"].startswith("Claim WC-2026-001234")
    [provenance] = _search(sandbox, "Provenance", target=f"ServiceRequest/{resource['id']}")
    assert [a["type"]["coding"][0]["code"] for a in provenance["agent"]] == ["author", "composer"]
    assert provenance["agent"][0]["who"]["reference"] == "Practitioner/atp-1"
    assert {a["onBehalfOf"]["reference"] for a in provenance["agent"]} == {"Organization/org-atp"}
    assert provenance["activity"]["coding"][0]["code"] == "CREATE"


def test_record_review_shares_two_documents_of_the_patient(
    sandbox: Sandbox, app_settings: Settings
) -> None:
    browser, page = launch_from_ehr(sandbox)
    records = form_fields(page.text).checkboxes["record"]
    assert {"DocumentReference/wc-1-doc-1", "DocumentReference/wc-1-doc-2",
            "DiagnosticReport/wc-1-dr-1"} <= set(records)
    two = ["DocumentReference/wc-1-doc-1", "DocumentReference/wc-1-doc-2"]
    sent, data = _send(browser, page, modality="record-review", record=two)
    assert sent.status_code == 200, sent.text
    [resource] = _written(sandbox, app_settings, data["referral_id"])
    assert sorted(r["reference"] for r in resource["supportingInfo"]) == two
    assert "occurrencePeriod" not in resource


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"modality": "record-review", "record": []}, "choose at least one record to share"),
        ({"modality": "record-review", "record": ["DocumentReference/wc-2-doc-1"]},
         "Choose records from this patient&#39;s chart."),
        ({"physician": "PractitionerRole/so-7"}, "your own organization"),
        ({"physician": "PractitionerRole/so-8"}, "is part of Front Range Occupational Health"),
        ({"physician": "PractitionerRole/so-9"}, "shares an identifier"),
        ({"physician": "PractitionerRole/so-10"}, "accreditation expired on 2025-07-31"),
        ({"physician": "PractitionerRole/so-6"}, "not listed as an occupational medicine"),
        ({"physician": "PractitionerRole/so-3", "modality": "telehealth"},
         "directory entry does not list telehealth"),
        ({"modality": "telehealth", "window_start": "2020-01-01"}, "cannot start in the past"),
    ],
)
def test_refusals_are_explained_and_nothing_is_written(
    sandbox: Sandbox, app_settings: Settings, overrides: dict[str, object], message: str
) -> None:
    browser, page = launch_from_ehr(sandbox)
    sent, data = _send(browser, page, **overrides)
    assert sent.status_code == 422
    assert message in sent.text
    assert form_fields(sent.text).textareas["question"][0] == data["question"][0]  # type: ignore[index]
    assert _written(sandbox, app_settings, data["referral_id"]) == []


def test_a_warned_physician_can_be_chosen_once_acknowledged(
    sandbox: Sandbox, app_settings: Settings
) -> None:
    browser, page = launch_from_ehr(sandbox)
    sent, data = _send(browser, page, physician="PractitionerRole/so-10", acknowledge="yes")
    assert sent.status_code == 200 and "Referral sent" in sent.text
    assert len(_written(sandbox, app_settings, data["referral_id"])) == 1


def test_two_hundred_questions_are_refused_with_every_text_kept(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    questions = [f"Question text {n}?" for n in range(200)]
    sent, _ = _send(browser, page, question=questions)
    assert sent.status_code == 422
    assert "at most 20 questions (you asked 200)" in sent.text
    assert form_fields(sent.text).textareas["question"] == questions


def test_the_largest_form_in_cjk_is_not_refused_for_its_size(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    questions = ["\u8a3a" * MAX_QUESTION_LENGTH] * MAX_QUESTIONS
    sent, _ = _send(browser, page, question=questions, physician="PractitionerRole/so-7")
    assert sent.status_code == 422  # refused for the related clinic, not for its size
    assert form_fields(sent.text).textareas["question"] == questions


def test_labels_come_from_the_one_table(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox)
    options = form_fields(page.text).selects["modality"]
    assert {o.value: o.label for o in options if o.value} == MODALITY_DISPLAY
    assert "Colorado DOWC Level II Accreditation (full)" in page.text
    assert "issued by Colorado Division of Workers&#39; Compensation (2025-08-01 to 2028-07-31)" in page.text


def test_ime_questions_warn_and_the_preview_shows_the_notes(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, question=["What is her whole person impairment rating?"],
                         action="preview")
    step = browser.post(page.url, data=data, timeout=30)
    assert step.status_code == 200
    assert "These questions read like an IME." in step.text
    assert "You might ask instead:" in step.text
    assert "Question 1 of 1: What is her whole person impairment rating?" in step.text
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text  # the ATP may still send


def test_the_directory_shows_visit_types_and_searches_by_them(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    assert "Offers: In person, Telehealth, Medical record review" in page.text
    data = referral_form(page.text, action="search", find_visit_type="in-person",
                         find_level_ii="yes")
    found = browser.post(page.url, data=data, timeout=30)
    offered = {o.value for o in form_fields(found.text).selects["physician"] if o.value}
    assert "PractitionerRole/so-1" in offered
    assert "PractitionerRole/so-2" not in offered  # telehealth only
    assert "PractitionerRole/so-10" not in offered  # accreditation expired
    assert "PractitionerRole/so-4" not in offered  # Level I only


def test_a_directory_on_another_server_is_read_with_its_own_bearer(sandbox: Sandbox) -> None:
    admin = sandbox.admin_session(clinic=True)
    token = str(admin.headers["Authorization"]).removeprefix("Bearer ")
    client = FhirClient(requests.Session(), sandbox.clinic_fhir_base, token, 10.0)
    directory = load_directory(client, "https://so.example.org/fhir")
    by_role = {p.role_reference: p for p in directory.physicians}
    assert set(by_role) == {f"PractitionerRole/so-{n}" for n in (1, 2, 3, 4, 5, 6, 10)}
    assert by_role["PractitionerRole/so-2"].visit_types == ("telehealth", "record-review")
    assert by_role["PractitionerRole/so-10"].accreditation_end == "2025-07-31"
    assert "Organization/org-summit" in directory.clinics
