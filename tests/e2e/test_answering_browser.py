"""Both sides in Debian's chromium: the ATP sends, the physician launches from the clinic's front page,
accepts, answers each question, signs; the ATP reads the answers. Another physician declines → re-route."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.clinic_ehr import clinic_root
from tests.e2e.conftest import Screenshot, choose_physician
from tests.e2e.test_composer_journeys import WIDER_THAN_320, _violations
from tests.e2e.test_delivery_browser import QUESTIONS, _send
from tests.integration.test_delivery_loop import Worker
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]

ANSWERS = ["Yes: the findings fit a lumbar strain.", "Six more weeks of physical therapy, then re-rate."]


def _physician_opens_newest(page: Page, sandbox: Sandbox, name: str) -> None:
    page.goto(f"{clinic_root(sandbox)}/")
    page.get_by_role("region", name=name).get_by_role("button", name="Launch Second Opinion").click()
    expect(page.get_by_role("heading", name="Incoming second-opinion referrals")).to_be_visible()
    page.locator("table.worklist tbody tr").first.get_by_role("link").click()
    expect(page.locator("#status")).to_have_text("New")


def test_both_sides_in_the_browser_with_the_answer_page_screenshot(
    page: Page, sandbox: Sandbox, flask_app: Flask, screenshot: Screenshot
) -> None:
    _send(page, sandbox)  # to Dr. Riley Chen (so-1), by telehealth
    atp_page = page.url
    Worker(flask_app).run()

    doctor = page.context.browser.new_context().new_page()  # type: ignore[union-attr]
    _physician_opens_newest(doctor, sandbox, "Dr. Riley Chen, MD")
    doctor.get_by_label("Visit date and time (telehealth)").fill(
        (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT09:30"))  # fmt: skip
    doctor.get_by_role("button", name="Accept").click()
    expect(doctor.locator("#status")).to_have_text("Accepted")
    for question, answer in zip(QUESTIONS, ANSWERS, strict=True):
        doctor.get_by_label(question, exact=True).fill(answer)
    expect(doctor.locator("#draft-status")).to_contain_text("Draft saved")  # kept as they type
    doctor.get_by_label("Not yet at MMI").check()
    doctor.get_by_label("If not yet: when MMI is expected").fill("6 to 8 weeks")
    doctor.get_by_label("Work-related", exact=True).check()
    doctor.get_by_label("Work restrictions you recommend").fill("No lifting over 20 lb.")
    doctor.get_by_label("Treatment recommendations").fill("Physical therapy twice a week.")
    doctor.get_by_label("Summary of your opinion").fill("Work-related lumbar strain, improving; not at MMI.")
    doctor.get_by_label("I render an opinion only", exact=False).check()
    screenshot(doctor, "answer.png")
    doctor.get_by_role("button", name="Sign and return the opinion").click()
    expect(doctor.locator("#status")).to_have_text("Signed and returned")

    Worker(flask_app).run()
    page.goto(atp_page)  # the referral's one page
    expect(page.get_by_text("Not yet at MMI", exact=False).first).to_be_visible()  # the conclusion first
    items = page.locator("ol.answers > li")
    expect(items).to_have_count(2)
    for index, answer in enumerate(ANSWERS):
        expect(items.nth(index).locator(".answer")).to_have_text(answer)


def test_a_physician_declines_and_the_atp_sends_it_to_another(
    page: Page, sandbox: Sandbox, flask_app: Flask
) -> None:
    _send(page, sandbox)  # to Dr. Riley Chen (so-1)
    atp_page = page.url
    Worker(flask_app).run()
    doctor = page.context.browser.new_context().new_page()  # type: ignore[union-attr]
    _physician_opens_newest(doctor, sandbox, "Dr. Riley Chen, MD")
    doctor.get_by_label("Why do you decline?").select_option(label="Outside my expertise")
    doctor.get_by_label("In your words").fill("Spine surgery candidacy is outside my practice.")
    doctor.get_by_role("button", name="Decline").click()
    expect(doctor.locator("#status")).to_have_text("Declined")

    Worker(flask_app).run()
    page.goto(atp_page)
    expect(page.get_by_text("declined", exact=False).first).to_be_visible()
    expect(page.locator("dd.detail")).to_contain_text("Spine surgery candidacy is outside my practice.")
    page.get_by_role("link", name="Send to another physician").click()
    page.set_viewport_size({"width": 320, "height": 900})  # the composer's cards: they read at 320 px
    assert page.evaluate(WIDER_THAN_320) == []
    assert _violations(page) == []
    okafor_card = page.locator(".card", has=page.locator("input[value='PractitionerRole/so-2']"))
    expect(okafor_card.locator(".accreditation")).to_have_text("Colorado DOWC Level II Accreditation (full)")
    choose_physician(page, "PractitionerRole/so-2")
    page.get_by_role("button", name="Send referral").click()
    Worker(flask_app).run()

    okafor = page.context.browser.new_context().new_page()  # type: ignore[union-attr]
    _physician_opens_newest(okafor, sandbox, "Dr. Casey Okafor, DO")
    for question in QUESTIONS:  # nothing retyped: the same questions reach the other physician
        expect(okafor.get_by_text(question)).to_be_visible()


def test_the_physicians_pages_pass_axe_at_320_px(page: Page, sandbox: Sandbox, flask_app: Flask) -> None:
    from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]

    _send(page, sandbox)
    Worker(flask_app).run()
    doctor = page.context.browser.new_context(viewport={"width": 320, "height": 900}).new_page()  # type: ignore[union-attr]
    _physician_opens_newest(doctor, sandbox, "Dr. Riley Chen, MD")
    doctor.get_by_label("Visit date and time (telehealth)").fill(
        (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT09:30")
    )
    doctor.get_by_role("button", name="Accept").click()
    doctor.get_by_role("button", name="Sign and return the opinion").click()  # errors shown on every field
    expect(doctor.get_by_role("alert")).to_be_visible()
    for name in ("answer page with errors", "worklist"):
        if name == "worklist":
            doctor.get_by_role("link", name="All your incoming referrals").click()
        violations = Axe().run(doctor).response["violations"]
        assert [v["id"] for v in violations] == [], name  # none at all, as on the ATP's pages
        wide = doctor.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 321"
            " && !e.closest('.table-scroll')).map(e => e.tagName + '#' + e.id).slice(0, 8)"
        )
        assert wide == [], name
