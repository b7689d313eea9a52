"""Browser journeys of the composer in Debian's chromium: in person, a record review with two
documents, a blocked related clinic, an IME warning, keyboard only, and axe-core at 320 px."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Screenshot, choose_physician
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]
MMI = ("Has the patient reached maximum medical improvement (MMI)? "
       "If not, what treatment is needed, and when do you expect MMI?")
WIDER_THAN_320 = (
    "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 321)"
    ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"
)


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _launch(page: Page, sandbox: Sandbox, patient: str = "wc-1") -> None:
    page.goto(sandbox.ehr_url)
    page.get_by_label("Practitioner").select_option("atp-1")
    page.get_by_label("Patient").select_option(patient)
    page.get_by_role("button", name="Launch Second Opinion").click()
    expect(page.get_by_role("heading", name="New second-opinion referral")).to_be_visible()
    page.get_by_role("group", name="Reason for referral").get_by_role("checkbox").first.check()


def _service_request(page: Page, sandbox: Sandbox) -> dict[str, Any]:
    expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()
    resource_id = page.locator(".sr-id").inner_text()
    answer = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/ServiceRequest/{resource_id}", timeout=30
    )
    resource: dict[str, Any] = answer.json()
    return resource


def _violations(page: Page) -> list[str]:
    return [v["id"] for v in Axe().run(page).response["violations"]]


def test_in_person_referral(page: Page, sandbox: Sandbox) -> None:
    _launch(page, sandbox)
    page.get_by_label("Question template").select_option(label="MMI")
    page.get_by_role("button", name="Add template question").click()
    expect(page.get_by_label("Question 1", exact=True)).to_have_value(MMI)
    page.get_by_label("Visit type").select_option(label="In person")
    page.get_by_label("First day").fill(_in_days(3))
    page.get_by_label("Last day").fill(_in_days(40))
    page.get_by_label("Opinion needed by").fill(_in_days(50))
    choose_physician(page, "PractitionerRole/so-1")
    page.get_by_role("button", name="Send referral").click()
    resource = _service_request(page, sandbox)
    assert resource["occurrencePeriod"] == {"start": _in_days(3), "end": _in_days(40)}
    assert resource["orderDetail"][1]["text"] == "In person"
    assert resource["note"][-1]["text"] == f"Opinion needed by {_in_days(50)}."


def test_record_review_with_two_documents(page: Page, sandbox: Sandbox) -> None:
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Does the imaging support the diagnosis?")
    page.get_by_label("Visit type").select_option(label="Medical record review")
    records = page.get_by_role("group", name="Records to share")
    records.get_by_label("Office visit note").check()
    records.get_by_label("Work status report (restrictions)").check()
    choose_physician(page, "PractitionerRole/so-2")
    page.get_by_role("button", name="Send referral").click()
    resource = _service_request(page, sandbox)
    assert sorted(r["reference"] for r in resource["supportingInfo"]) == [
        "DocumentReference/wc-1-doc-1",
        "DocumentReference/wc-1-doc-2",
    ]


def test_a_related_clinic_is_blocked_with_the_reason(page: Page, sandbox: Sandbox) -> None:
    _launch(page, sandbox)
    card = page.locator(".card", has=page.locator("input[value='PractitionerRole/so-7']"))
    expect(card.get_by_role("radio")).to_be_disabled()
    reason = "Dr. Harper Castillo, MD works at Front Range Occupational Health, your own organization"
    expect(card).to_contain_text("Related clinic, not available: " + reason)


def test_an_ime_question_warns_at_once_naming_it_and_may_still_be_sent(
    page: Page, sandbox: Sandbox
) -> None:
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Is the diagnosis correct?")
    page.get_by_role("button", name="Add question").click()
    page.get_by_label("Question 2", exact=True).fill("Please prepare her for the deposition next week.")
    warning = page.locator("#ime-warning")  # no button pressed: the script asked the server
    expect(warning).to_contain_text("These questions read like an IME.")
    expect(warning).to_contain_text("Question 2 (“Please prepare her for the deposition next week.”)")
    expect(warning).not_to_contain_text("Question 1")
    expect(page.locator("#before-sending")).to_contain_text("Question 2")
    expect(page.locator(".notes")).to_contain_text(
        "Question 2 of 2: Please prepare her for the deposition next week."
    )
    page.get_by_label("Visit type").select_option(label="Telehealth")
    page.get_by_label("First day").fill(_in_days(1))
    page.get_by_label("Last day").fill(_in_days(10))
    choose_physician(page, "PractitionerRole/so-1")
    page.get_by_role("button", name="Send referral").click()
    assert _service_request(page, sandbox)["status"] == "active"


def test_keyboard_only_reorders_questions_without_losing_text(page: Page, sandbox: Sandbox) -> None:
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).focus()
    page.keyboard.type("First question?")
    page.keyboard.press("Tab")  # Move up and Move down are disabled for one question: Remove
    page.keyboard.press("Tab")  # -> Add question
    expect(page.get_by_role("button", name="Add question")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Question 2", exact=True)).to_be_focused()  # the new box
    page.keyboard.type("Second question?")
    page.get_by_role("button", name="Move up question 2").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Question 1", exact=True)).to_have_value("Second question?")
    expect(page.get_by_label("Question 2", exact=True)).to_have_value("First question?")
    expect(page.get_by_label("Question 1", exact=True)).to_be_focused()  # the moved box
    page.get_by_label("Question 2", exact=True).focus()
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # a newline in the box, never a form submission
    expect(page.get_by_label("Question 2", exact=True)).to_have_value("First question?\n")


def test_axe_finds_no_violation_at_320_px(page: Page, sandbox: Sandbox) -> None:
    page.set_viewport_size({"width": 320, "height": 900})
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Is there an apportionment to a prior injury?")
    page.get_by_role("button", name="Add question").click()
    page.get_by_label("Question 2", exact=True).fill("Is the hearing next month a reason to wait?")
    page.get_by_label("Visit type").select_option(label="In person")
    choose_physician(page, "PractitionerRole/so-6")
    expect(page.locator("#ime-warning")).to_be_visible()
    expect(page.locator("#acknowledge")).to_be_visible()
    assert _violations(page) == []
    assert page.evaluate(WIDER_THAN_320) == []  # no sideways scrolling in a narrow EHR side panel


def test_composer_screenshot_for_the_readme(
    page: Page, sandbox: Sandbox, screenshot: Screenshot
) -> None:
    """UPDATE_SCREENSHOTS=1 writes docs/img/composer.png; otherwise the picture goes to tmp_path."""
    page.set_viewport_size({"width": 900, "height": 1200})
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Is the diagnosis of lumbar strain correct?")
    page.get_by_label("Question template").select_option(label="MMI")
    page.get_by_role("button", name="Add template question").click()
    page.get_by_label("Visit type").select_option(label="In person")
    page.get_by_label("First day").fill(_in_days(7))
    page.get_by_label("Last day").fill(_in_days(35))
    choose_physician(page, "PractitionerRole/so-1")
    expect(page.locator(".notes")).to_contain_text("Question 2 of 2: Has the patient reached")
    expect(page.locator(".notes")).to_contain_text("Opinion needed by")
    assert screenshot(page, "composer.png").stat().st_size > 10_000
