"""What the compose page knows beyond the form (issue 16): an earlier second opinion for the same
patient, the due date as the clinic's Task carries it, and the IME guard knowing who asks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from flask import Flask

from fhir_mappings.referral_number import referral_number_from_id
from smart_app.config import Settings
from tests.integration.test_delivery_loop import Worker, search
from tests.pages import form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")
RATING = "At MMI, what is her whole person impairment rating?"


def _step(browser: requests.Session, page_url: str, page_text: str, **fields: object) -> str:
    """The compose page as the script asks for it after a change (action ``refresh``)."""
    data = {**form_fields(page_text).hidden, "question": [RATING], "action": "refresh", **fields}
    answer = browser.post(page_url, data=data, timeout=30)
    assert answer.status_code == 200
    return answer.text.replace("&#39;", "'")


def test_an_earlier_referral_for_the_patient_is_named_before_another_is_written(sandbox: Sandbox) -> None:
    """By its referral number: other tests send referrals for the seeded patients too."""
    browser, page = launch_from_ehr(sandbox, patient="wc-5")
    data = referral_form(page.text)
    number = referral_number_from_id(str(data["referral_id"]))
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200
    _, again = launch_from_ehr(sandbox, patient="wc-5", practitioner="atp-2")  # another ATP, same EHR
    assert "This patient already has a second opinion" in again.text
    [line] = [line for line in again.text.splitlines() if number in line]
    assert f"Sent <time datetime=\"{date.today().isoformat()}\">" in line
    assert "Sent: waiting to be delivered" in line
    assert "its page" not in line  # not atp-2's referral
    _, mine = launch_from_ehr(sandbox, patient="wc-5")
    [line] = [line for line in mine.text.splitlines() if number in line]
    assert "its page</a>" in line
    _, other = launch_from_ehr(sandbox, patient="wc-3")
    assert number not in other.text  # another patient's referrals only


def test_a_patient_with_many_referrals_gets_the_newest_five_and_a_word_that_there_are_more(
    sandbox: Sandbox,
) -> None:
    for _ in range(6):
        browser, page = launch_from_ehr(sandbox, patient="wc-3")
        data = referral_form(page.text)
        sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
        assert sent.status_code == 200
    newest = referral_number_from_id(str(data["referral_id"]))
    _, again = launch_from_ehr(sandbox, patient="wc-3")
    warning = again.text.split('id="earlier"', 1)[1].split("</section>", 1)[0]
    assert warning.count("<li>Sent") == 5 and newest in warning
    assert "There are more;" in warning and "all your referrals</a>" in warning


def test_the_due_date_reaches_the_clinic_task(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-4")
    due = (date.today() + timedelta(days=45)).isoformat()
    data = referral_form(page.text, due_by=due)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200, sent.text
    Worker(flask_app).run()
    clinic = sandbox.admin_session(clinic=True)
    [task] = search(clinic, sandbox.clinic_fhir_base, "Task", f"{app_settings.namespace}/sid/referral",
                    str(data["referral_id"]))
    assert task["restriction"] == {"period": {"end": due}}


def test_a_due_date_before_the_window_ends_is_refused_with_the_text_kept(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2")
    data = referral_form(page.text, due_by=(date.today() + timedelta(days=5)).isoformat())
    refused = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert refused.status_code == 422
    assert "The opinion cannot be needed before the visit window ends" in refused.text
    assert 'href="#due_by"' in refused.text and "Is the patient at MMI?" in refused.text


def test_a_rating_asked_by_an_atp_who_is_not_level_ii_is_explained_not_discouraged(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, practitioner="atp-2")  # Level I only
    text = _step(browser, page.url, page.text, physician="PractitionerRole/so-1")
    assert "fits a second opinion: it is not an IME" in text
    assert "These questions read like an IME" not in text
    text = _step(browser, page.url, page.text, physician="PractitionerRole/so-5")  # not accredited
    assert "Only a Level II accredited physician may rate (Rule 13-1(A)(2))" in text
    browser, page = launch_from_ehr(sandbox, practitioner="atp-1")  # Level II full
    text = _step(browser, page.url, page.text, physician="PractitionerRole/so-1")
    assert "These questions read like an IME" in text and "the rating is yours to give" in text
