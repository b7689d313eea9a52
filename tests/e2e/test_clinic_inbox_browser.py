"""The sandbox clinic's inbox in Debian's chromium: a physician answers two questions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

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
        page = browser.new_context(accept_downloads=True).new_page()
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


def test_the_physician_opens_the_shared_records(inbox_page: Page, sandbox: Sandbox) -> None:
    page = inbox_page
    note = base64.b64encode(b"Synthetic visit note.").decode()
    record = {"resourceType": "DocumentReference", "status": "current", "description": "Office visit note",
              "date": "2026-02-10T10:00:00-07:00",
              "content": [{"attachment": {"contentType": "text/plain", "title": "Visit note", "data": note}}]}
    delivered = deliver(sandbox, QUESTIONS, owner="so-2", records=[record])
    page.goto(f"{inbox_url(sandbox)}/tasks/{delivered.task_id}")
    expect(page.locator("body")).to_have_css("max-width", "640px")  # the page's own style, under its CSP
    expect(page.get_by_role("row", name="Office visit note 2026-02-10 Document Visit note")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Visit note").click()
    assert download.value.suggested_filename == "Visit-note.txt"
    assert Path(download.value.path()).read_bytes() == b"Synthetic visit note."
