"""From the sandbox chart's CDS card to a filled-in composer in Debian's chromium, and the README's
picture of the card: UPDATE_SCREENSHOTS=1 writes docs/img/cds-card.png, otherwise it goes to tmp_path."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fhir_mappings.rules import QUESTION_BY_TOPIC
from tests.e2e.conftest import Screenshot
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]


def test_the_charts_card_opens_the_composer_with_the_suggested_questions(
    page: Page, sandbox: Sandbox, screenshot: Screenshot
) -> None:
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(sandbox.ehr_url)
    page.get_by_label("Practitioner").select_option("atp-1")
    page.get_by_label("Patient").select_option("wc-10")
    page.get_by_role("button", name="Open the chart").click()
    card = page.get_by_role("article", name="CDS card")
    expect(card.get_by_role("heading", level=3)).to_have_text(
        "Consider a second opinion: no MMI 40 weeks after the injury"
    )
    expect(card).to_contain_text("Why this case looks stuck")
    expect(card).to_contain_text("an IME is requested by the insurer, the employer or an attorney")
    screenshot(page, "cds-card.png")
    card.get_by_role("button", name="Open Second Opinion with the suggested reasons and questions").click()
    expect(page.locator("#stuck-case-suggestion")).to_contain_text("suggested by the stuck-case check")
    expect(page.get_by_label("Question 1", exact=True)).to_have_value(QUESTION_BY_TOPIC["Diagnosis"])
    expect(page.get_by_label("Question 2", exact=True)).to_have_value(QUESTION_BY_TOPIC["MMI"])
    reasons = page.get_by_role("group", name="Reason for referral").get_by_role("checkbox")
    expect(reasons).to_have_count(2)
    for reason in reasons.all():
        expect(reason).to_be_checked()
