"""From the sandbox EHR's launch button to a ServiceRequest in the EHR, over real HTTP."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from fhir_mappings.service_request import questions_from_service_request
from smart_app.config import Settings
from smart_app.store import Launch
from tests.pages import fhir_calls_during_launch, form_fields, launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox
from tests.us_core import us_core_problems

pytestmark = pytest.mark.usefixtures("live_app")

SCOPE = (
    "You are asked to answer the questions below by rendering an opinion only. "
    "You are not asked to assume care or to co-manage this case."
)


def _service_requests(
    sandbox: Sandbox, settings: Settings, referral_id: str
) -> list[dict[str, Any]]:
    system = f"{settings.namespace}/sid/referral"
    bundle = (
        sandbox.admin_session()
        .get(
            f"{sandbox.fhir_base}/ServiceRequest",
            params={"identifier": f"{system}|{referral_id}"},
            timeout=30,
        )
        .json()
    )
    found = [e["resource"] for e in bundle.get("entry", [])]
    for resource in found:  # every ServiceRequest the tests produce meets US Core
        assert us_core_problems(resource, {"encounter"}) == []
    return found


def test_the_launch_opens_the_compose_page_with_the_patient(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox)
    assert page.status_code == 200
    assert page.url.endswith("/compose")
    for name in (
        "Reason for referral",
        "Question 1",
        "Visit type",
        "In person",
        "Telehealth",
        "Medical record review",
        "Second-opinion physician",
        "Send referral",
    ):
        assert name in page.text
    fields = form_fields(page.text)
    assert fields.hidden["patient"] == "Patient/wc-1"
    assert len(fields.selects["physician"]) >= 9  # the placeholder and at least eight physicians


def test_send_referral_writes_the_service_request(sandbox: Sandbox, app_settings: Settings) -> None:
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    [resource] = _service_requests(sandbox, app_settings, str(data["referral_id"]))
    assert resource["id"] in sent.text
    assert (resource["status"], resource["intent"]) == ("active", "order")
    assert resource["subject"]["reference"] == "Patient/wc-1"
    assert resource["requester"]["reference"] == "Practitioner/atp-1"
    assert resource["performer"][0]["reference"] == data["physician"]
    assert [r["reference"] for r in resource["reasonReference"]] == data["reason"]
    assert resource["insurance"][0]["reference"].startswith("Coverage/")
    codings = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
    assert ("http://snomed.info/sct", "3457005") in codings
    assert resource["note"][0]["text"] == SCOPE
    window_end = date.fromisoformat(str(data["window_end"]))
    assert [n["text"] for n in resource["note"][1:]] == [
        "Question 1 of 2: Is the diagnosis of lumbar strain correct?",
        "Question 2 of 2: Is the patient at MMI?",
        f"Opinion needed by {(window_end + timedelta(days=14)).isoformat()}.",  # the default due date
    ]
    assert questions_from_service_request(resource) == tuple(data["question"])  # type: ignore[arg-type]


def test_a_double_submit_makes_one_resource(sandbox: Sandbox, app_settings: Settings) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2")
    data = referral_form(page.text)
    url = page.url.replace("/compose", "/referrals")
    first = browser.post(url, data=data, timeout=30)
    second = browser.post(url, data=data, timeout=30)
    assert first.url == second.url and second.status_code == 200
    assert len(_service_requests(sandbox, app_settings, str(data["referral_id"]))) == 1


@pytest.mark.parametrize(
    "overrides, message, kept",
    [
        ({"question": ["", "  "]}, "at least one", "telehealth"),
        ({"modality": ""}, "Choose a visit type", "Is the patient at MMI?"),
        ({"modality": "house-call"}, "Choose a visit type", "Is the patient at MMI?"),
        (
            {"physician": "PractitionerRole/not-in-directory"},
            "from the list",
            "Is the patient at MMI?",
        ),
        ({"reason": ["Condition/someone-elses"]}, "reasons for referral", "Is the patient at MMI?"),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(
    sandbox: Sandbox, overrides: dict[str, object], message: str, kept: str
) -> None:
    browser, page = launch_from_ehr(sandbox)
    answer = browser.post(
        page.url.replace("/compose", "/referrals"),
        data=referral_form(page.text, **overrides),
        timeout=30,
    )
    assert answer.status_code == 422
    assert message in answer.text
    assert kept in answer.text


def test_a_physician_in_a_related_clinic_is_refused(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    related = [o for o in form_fields(page.text).selects["physician"] if o.disabled]
    assert (
        len(related) >= 3
    )  # own organization, a clinic part of it, a clinic sharing its identifier
    answer = browser.post(
        page.url.replace("/compose", "/referrals"),
        data=referral_form(page.text, physician=related[0].value),
        timeout=30,
    )
    assert answer.status_code == 422 and "related" in answer.text.lower()


def test_a_form_without_its_csrf_token_is_refused(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, csrf_token="forged")
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 400 and "did not come from Second Opinion" in answer.text


def test_add_question_keeps_the_answers(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, question=["First question?"], action="add-question")
    answer = browser.post(page.url, data=data, timeout=30)
    assert answer.status_code == 200
    assert form_fields(answer.text).textareas["question"] == ["First question?", ""]
    assert "Question 2" in answer.text


def test_a_heavy_chart_costs_one_batch(sandbox: Sandbox, flask_app: Flask) -> None:
    http = flask_app.extensions["second_opinion"].http.for_url(sandbox.fhir_base)
    page, calls = fhir_calls_during_launch(sandbox, http, "wc-6")
    assert len(form_fields(page.text).checkboxes["reason"]) == 320
    assert calls == ["POST"]  # one batch, with a page size that holds the whole chart
    assert "conditions-partial" not in page.text


def test_no_phi_or_secret_reaches_the_logs(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    data = referral_form(page.text)
    browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    fields = form_fields(page.text)
    name = re.search(r'class="patient-name">([^<]+)<', page.text)
    assert name is not None
    secrets_and_phi = [name.group(1), "wc-3", fields.hidden["csrf_token"], "Is the patient at MMI?"]
    secrets_and_phi += list(browser.cookies.values())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "referral.created" in logged
    for value in secrets_and_phi:
        assert value not in logged


def test_when_the_ehr_refuses_the_send_nothing_typed_is_lost(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-4")
    store = flask_app.extensions["second_opinion"].store
    with store.transaction() as db:  # the EHR will now answer 401, as for an expired or revoked token
        row = db.get(Launch, launch_key(page.url))
        row.access_token = "revoked"
    data = referral_form(page.text, question=["Is a repeat MRI warranted?"])
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 401
    assert "Nothing was sent" in answer.text and "Is a repeat MRI warranted?" in answer.text
    assert form_fields(answer.text).hidden["referral_id"] == data["referral_id"]
    assert _service_requests(sandbox, app_settings, str(data["referral_id"])) == []


def test_the_compose_page_links_to_all_the_atps_referrals(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    prefix = page.url.rsplit("/compose", 1)[0]
    assert f'href="{urlsplit(prefix).path}/referrals"' in page.text
    listing = browser.get(f"{prefix}/referrals", timeout=30)
    assert listing.status_code == 200
