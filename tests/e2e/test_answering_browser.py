"""Both sides in Debian's chromium: the ATP sends, the physician launches from the clinic's front page,
accepts, answers each question, signs; the ATP reads the answers. Another physician declines → re-route."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.clinic_ehr import clinic_root
from tests.e2e.conftest import Screenshot
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
    page.goto(atp_page)
    page.get_by_role("link", name="Follow its delivery and the answers").click()
    items = page.locator("ol.answers > li")
    expect(items).to_have_count(2)
    for index, answer in enumerate(ANSWERS):
        expect(items.nth(index).locator(".answer")).to_have_text(answer)
