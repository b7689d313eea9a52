"""One real journey in Debian's chromium: the sandbox EHR's button to a ServiceRequest in the EHR."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from smart_app.config import Settings
from tests.e2e.conftest import choose_physician
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]


def _in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def test_an_atp_sends_a_second_opinion_referral(
    page: Page, sandbox: Sandbox, app_settings: Settings
) -> None:
    page.goto(sandbox.ehr_url)
    page.get_by_label("Practitioner").select_option("atp-1")
    page.get_by_label("Patient").select_option("wc-1")
    page.get_by_role("button", name="Launch Second Opinion").click()

    expect(page.get_by_role("heading", name="New second-opinion referral")).to_be_visible()
    reasons = page.get_by_role("group", name="Reason for referral")
    reasons.get_by_role("checkbox").first.check()
    page.get_by_label("Question 1", exact=True).fill("Is the working diagnosis correct?")
    page.get_by_role("button", name="Add question").click()
    page.get_by_label("Question 2", exact=True).fill("What treatment would move her toward MMI?")
    page.get_by_label("Visit type").select_option(label="Telehealth")
    page.get_by_label("First day").fill(_in_days(1))
    page.get_by_label("Last day").fill(_in_days(30))
    choose_physician(page)  # the first card that may be chosen
    page.get_by_role("button", name="Send referral").click()

    expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()
    service_request_id = page.locator(".sr-id").inner_text()
    resource = (
        sandbox.admin_session()
        .get(f"{sandbox.fhir_base}/ServiceRequest/{service_request_id}", timeout=30)
        .json()
    )
    notes = [note["text"] for note in resource["note"]]
    assert notes[0].startswith(
        "You are asked to answer the questions below by rendering an opinion only."
    )
    assert notes[1:] == [
        "Question 1 of 2: Is the working diagnosis correct?",
        "Question 2 of 2: What treatment would move her toward MMI?",
        f"Opinion needed by {_in_days(44)}.",  # the default: 14 days after the window's last day
    ]
    assert resource["orderDetail"][1]["text"] in ("Telehealth",)
    assert resource["requester"]["reference"] == "Practitioner/atp-1"
