"""The second-opinion physician's pages over real HTTP: launched from the clinic's front page, like a browser.

The ATP sends a referral, the app's worker delivers it to the sandbox clinic; the physician it is
addressed to launches Second Opinion from the clinic's EHR, accepts, answers and signs; the ATP's
page then shows each answer. Another physician of the clinic neither lists nor opens it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

import pytest
import requests
from flask import Flask

from smart_app.config import Settings
from tests.clinic_ehr import clinic_root
from tests.integration.test_delivery_loop import Worker, search
from tests.pages import browser_session, form_fields, launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

QUESTIONS = ["Is the diagnosis of lumbar strain correct?", "What treatment would move her toward MMI?"]
ANSWERS = ["Yes: the findings fit a lumbar strain.", "Six more weeks of physical therapy, then re-rate."]
CONCLUSION = {"mmi": "not-reached", "mmi_expected": "6 to 8 weeks", "work_relatedness": "work-related",
              "work_restrictions": "No lifting over 20 lb.", "treatment": "Physical therapy twice a week.",
              "summary": "Work-related lumbar strain, improving; not at MMI."}  # fmt: skip


def send_to(sandbox: Sandbox, physician: str) -> tuple[requests.Session, str, str]:
    """The ATP sends a telehealth referral to ``physician``; (browser, referral id, app launch URL)."""
    browser, page = launch_from_ehr(sandbox)
    data = referral_form(page.text, question=QUESTIONS, physician=f"PractitionerRole/{physician}")
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200, sent.text
    return browser, str(data["referral_id"]), sent.url.rsplit("/referrals/", 1)[0]


def physician_launch(
    sandbox: Sandbox, practitioner: str, task: str = ""
) -> tuple[requests.Session, requests.Response]:
    """Click "Launch Second Opinion" on the clinic's front page as ``practitioner``."""
    browser = browser_session()
    form = {"practitioner": practitioner, "task": task}
    landed = browser.post(f"{clinic_root(sandbox)}/ehr/launch", data=form, timeout=30)
    return browser, landed


def task_link(worklist: str, task_id: str) -> str | None:
    found = re.search(rf'href="([^"]*/incoming/{re.escape(task_id)})"', worklist)
    return found.group(1) if found else None


def task_id_of(sandbox: Sandbox, ns: str, referral_id: str) -> str:
    clinic = sandbox.admin_session(clinic=True)
    [task] = search(clinic, sandbox.clinic_fhir_base, "Task", f"{ns}/sid/referral", referral_id)
    return str(task["id"])


class Opened(NamedTuple):
    """A referral the ATP sent to so-1, delivered, and opened by so-1 from their EHR on its Task."""

    atp: requests.Session
    referral_id: str
    atp_app: str  # the ATP's launch URL in the app
    task_id: str
    browser: requests.Session  # the physician's
    page: requests.Response  # the referral's page at the physician's


def opened_by_its_physician(sandbox: Sandbox, flask_app: Flask, settings: Settings) -> Opened:
    atp, referral_id, atp_app = send_to(sandbox, "so-1")
    Worker(flask_app).run()
    task_id = task_id_of(sandbox, settings.namespace, referral_id)
    browser, page = physician_launch(sandbox, "so-1", task=task_id)
    return Opened(atp, referral_id, atp_app, task_id, browser, page)


def visit_in_three_days() -> str:
    """A visit time the accept form takes (datetime-local)."""
    return (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT09:30")


def _post(browser: requests.Session, url: str, page: str, **fields: str) -> requests.Response:
    return browser.post(
        url, data={"csrf_token": form_fields(page).hidden["csrf_token"], **fields}, timeout=30
    )


def test_the_owner_accepts_answers_and_signs_and_the_atp_reads_each_answer(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    ns = app_settings.namespace
    atp, referral_id, atp_app = send_to(sandbox, "so-1")
    Worker(flask_app).run()
    task_id = task_id_of(sandbox, ns, referral_id)

    browser, worklist = physician_launch(sandbox, "so-1")
    assert worklist.status_code == 200 and "/worklist" in worklist.url
    link = task_link(worklist.text, task_id)
    assert link, "the worklist links the referral"
    page = browser.get(requests.compat.urljoin(worklist.url, link), timeout=30)
    assert "Opinion only." in page.text and 'id="visit"' in page.text
    accepted = _post(browser, page.url + "/accept", page.text, visit=visit_in_three_days())
    assert accepted.status_code == 200 and "Accepted" in accepted.text
    for number, question in enumerate(QUESTIONS, start=1):
        assert re.search(
            rf'<label for="answer-{number}">{re.escape(question)}</label>\s*<textarea', accepted.text
        )

    answers = {f"answer-{n}": a for n, a in enumerate(ANSWERS, start=1)}
    draft = _post(browser, page.url + "/draft", accepted.text, **{**answers, "summary": "typed so far"})
    assert "Draft saved" in draft.text and "typed so far" in draft.text
    unattested = _post(browser, page.url + "/sign", draft.text, **answers, **CONCLUSION)
    assert unattested.status_code == 422 and "Confirm that you render an opinion only" in unattested.text
    signed = _post(browser, page.url + "/sign", draft.text, **answers, **CONCLUSION, attest="yes")
    assert signed.status_code == 200 and "Signed and returned" in signed.text
    letter = browser.get(page.url + "/opinion.pdf", timeout=30)
    assert letter.headers["Content-Type"] == "application/pdf" and letter.content.startswith(b"%PDF")

    Worker(flask_app).run()
    status = atp.get(f"{atp_app}/referrals/{referral_id}/status", timeout=30)
    for question, answer in zip(QUESTIONS, ANSWERS, strict=True):
        assert status.text.index(question) < status.text.index(answer)
    [order] = search(sandbox.admin_session(), sandbox.fhir_base, "ServiceRequest", f"{ns}/sid/referral",
                     referral_id)  # fmt: skip
    assert order["status"] == "completed"


def test_another_physician_neither_lists_nor_opens_it(sandbox: Sandbox, flask_app: Flask,
                                                      app_settings: Settings) -> None:  # fmt: skip
    _, referral_id, _ = send_to(sandbox, "so-1")
    Worker(flask_app).run()
    task_id = task_id_of(sandbox, app_settings.namespace, referral_id)
    browser, worklist = physician_launch(sandbox, "so-2")
    assert worklist.status_code == 200 and task_link(worklist.text, task_id) is None
    opened = browser.get(worklist.url.replace("/worklist", f"/incoming/{task_id}"), timeout=30)
    assert opened.status_code == 404 and "no such referral" in opened.text
    direct, landed = physician_launch(
        sandbox, "so-2", task=task_id
    )  # the EHR names the Task: still not theirs
    assert landed.status_code == 404


def test_decline_with_a_reason_reaches_the_atp(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    atp, referral_id, atp_app, task_id, browser, page = opened_by_its_physician(
        sandbox, flask_app, app_settings
    )
    assert f"/incoming/{task_id}" in page.url
    missing = _post(browser, page.url + "/decline", page.text, note="no reason chosen")
    assert missing.status_code == 422 and "Choose why you decline" in missing.text
    declined = _post(browser, page.url + "/decline", page.text, reason="outside-expertise",
                     note="Spine surgery candidacy is outside my practice.")  # fmt: skip
    assert "Declined" in declined.text
    Worker(flask_app).run()
    status = atp.get(f"{atp_app}/referrals/{referral_id}/status", timeout=30)
    assert "Outside my expertise" in status.text and "Spine surgery candidacy" in status.text


def test_forms_need_the_launch_token_and_the_role(sandbox: Sandbox, flask_app: Flask,
                                                  app_settings: Settings) -> None:  # fmt: skip
    atp, _, atp_app, task_id, browser, page = opened_by_its_physician(
        sandbox, flask_app, app_settings
    )
    forged = browser.post(page.url + "/accept", data={"visit": "2030-01-01T09:00"}, timeout=30)
    assert forged.status_code == 400
    assert atp.get(f"{atp_app}/incoming/{task_id}", timeout=30).status_code == 403  # an ATP's launch
    assert browser.get(page.url.split("/incoming/")[0] + "/compose", timeout=30).status_code == 403


def test_the_physician_asks_for_records_and_signs_once_they_arrive(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    atp, referral_id, atp_app, _, browser, page = opened_by_its_physician(
        sandbox, flask_app, app_settings
    )
    accepted = _post(browser, page.url + "/accept", page.text, visit=visit_in_three_days())
    request = "Please send the latest visit note."
    held = _post(browser, page.url + "/hold", accepted.text, records_note=request)
    assert "Waiting for records" in held.text and "Please send the latest visit note." in held.text
    assert re.search(r"<button[^>]*disabled>Sign and return the opinion", held.text)

    Worker(flask_app).run()
    status = atp.get(f"{atp_app}/referrals/{referral_id}", timeout=30)
    assert "Please send the latest visit note." in status.text
    picker = atp.get(f"{atp_app}/referrals/{referral_id}/records", timeout=30)
    record = form_fields(picker.text).checkboxes["record"][0]
    sent = _post(atp, f"{atp_app}/referrals/{referral_id}/records", picker.text, record=record)
    assert sent.status_code == 200, sent.text
    Worker(flask_app).run()

    back = browser.get(page.url, timeout=30)
    assert "Answering" in back.text and "sent at your request" in back.text
    answers = {f"answer-{n}": a for n, a in enumerate(ANSWERS, start=1)}
    signed = _post(browser, page.url + "/sign", back.text, **answers, **CONCLUSION, attest="yes")
    assert "Signed and returned" in signed.text


def test_a_standalone_sign_in_at_the_clinic_opens_the_worklist(sandbox: Sandbox, live_app: str) -> None:
    browser = browser_session()
    sign_in = browser.get(f"{live_app}/standalone/sandbox-clinic", timeout=30)
    assert sign_in.status_code == 200 and 'name="patient"' not in sign_in.text  # the worklist spans patients
    practitioner = form_fields(sign_in.text).selects["practitioner"][0].value
    landed = browser.post(sign_in.url, data={"practitioner": practitioner, "decision": "allow"}, timeout=30)
    assert landed.status_code == 200 and "Incoming second-opinion referrals" in landed.text


def test_a_cancelled_referral_reads_cancelled_to_the_physician_and_cannot_be_signed(
    sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    atp, referral_id, atp_app, _, browser, page = opened_by_its_physician(
        sandbox, flask_app, app_settings
    )
    accepted = _post(browser, page.url + "/accept", page.text, visit=visit_in_three_days())

    status = atp.get(f"{atp_app}/referrals/{referral_id}", timeout=30)
    _post(atp, f"{atp_app}/referrals/{referral_id}/cancel", status.text, reason="Returned to full duty.")
    Worker(flask_app).run()
    answers = {f"answer-{n}": a for n, a in enumerate(ANSWERS, start=1)}
    late = _post(browser, page.url + "/sign", accepted.text, **answers, **CONCLUSION, attest="yes")
    assert late.status_code == 409 and "cancelled by the referring physician" in late.text
    shown = browser.get(page.url, timeout=30)
    assert "Cancelled by the referring physician" in shown.text and "Returned to full duty." in shown.text
    kept = re.search(r'<textarea name="answer-1"', shown.text)
    assert kept is None  # nothing left to answer; the draft stays on the server
