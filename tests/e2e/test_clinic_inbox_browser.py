"""The sandbox clinic's inbox in Debian's chromium: a physician answers two questions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.clinic_referral import TASK_IO, deliver, inbox_url
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.e2e

QUESTIONS = ["Is the working diagnosis correct?", "What treatment would move her toward MMI?"]


@pytest.fixture
def inbox_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        page = browser.new_context().new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def test_a_physician_answers_two_questions(inbox_page: Page, sandbox: Sandbox) -> None:
    page = inbox_page
    delivered = deliver(sandbox, QUESTIONS, owner="so-2")
    page.goto(inbox_url(sandbox))
    page.get_by_label("You are").select_option("so-2")
    page.get_by_role("button", name="Show referrals").click()
    page.get_by_role("link", name=f"Open referral {delivered.task_id}").click()

    for button, status in (("Mark received", "received"), ("Accept", "accepted"),
                           ("Start the opinion", "in-progress")):
        page.get_by_role("button", name=button).click()
        expect(page.locator("#status")).to_have_text(status)
    page.get_by_label(f"Question 1: {QUESTIONS[0]}").fill("Yes: lumbar strain, no radiculopathy.")
    page.get_by_label(f"Question 2: {QUESTIONS[1]}").fill("Six more weeks of physical therapy.")
    page.get_by_label("Opinion letter").fill("Dear Dr. Atwood,\nMy opinion follows.")
    page.get_by_role("button", name="Complete").click()
    expect(page.locator("#status")).to_have_text("completed")

    task = sandbox.admin_session(clinic=True).get(
        f"{sandbox.clinic_fhir_base}/Task/{delivered.task_id}").json()
    assert [(o["type"]["coding"][0]["code"], o.get("valueString")) for o in task["output"]] == [
        ("answer", "Yes: lumbar strain, no radiculopathy."),
        ("answer", "Six more weeks of physical therapy."),
        ("opinion", None),
    ]
    assert {o["type"]["coding"][0]["system"] for o in task["output"]} == {TASK_IO}
