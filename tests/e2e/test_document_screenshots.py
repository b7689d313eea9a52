"""The referral letter and the worker's handout in Debian's chromium, after a real send, and their
pictures for the README: UPDATE_SCREENSHOTS=1 writes docs/img/, otherwise they go to tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Browser, BrowserContext, Page, expect

from fhir_mappings.codes import SCOPE_STATEMENT
from tests.e2e.conftest import Screenshot, choose_physician
from tests.e2e.test_composer_journeys import WIDER_THAN_320
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]
QUESTIONS = (
    "Is the diagnosis of lumbar strain with left-leg radiculopathy correct?",
    "Has the patient reached maximum medical improvement (MMI)? "
    "If not, what treatment is needed, and when do you expect MMI?",
    "Are her current restrictions (no lifting over 20 lb, no repeated bending) still needed?",
)
LETTER_WIDTH = 900
HANDOUT_WIDTH = 816  # US Letter paper, 8.5 in at 96 CSS px per inch


@pytest.fixture(scope="module")
def sent(browser: Browser, sandbox: Sandbox, live_app: str) -> Iterator[tuple[BrowserContext, str]]:
    """A browser whose launch on wc-1 sent an in-person referral, and the confirmation's URL."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(sandbox.ehr_url)
    page.get_by_label("Practitioner").select_option("atp-1")
    page.get_by_label("Patient").select_option("wc-1")
    page.get_by_role("button", name="Launch Second Opinion").click()
    for reason in page.get_by_role("group", name="Reason for referral").get_by_role("checkbox").all():
        reason.check()
    for number, question in enumerate(QUESTIONS, start=1):
        if number > 1:
            page.get_by_role("button", name="Add question").click()
        page.get_by_label(f"Question {number}", exact=True).fill(question)
    page.get_by_label("Visit type").select_option(label="In person")
    page.get_by_label("First day").fill((date.today() + timedelta(days=7)).isoformat())
    page.get_by_label("Last day").fill((date.today() + timedelta(days=35)).isoformat())
    choose_physician(page, "PractitionerRole/so-1")
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()
    yield context, page.url
    context.close()


@pytest.fixture
def confirmation(sent: tuple[BrowserContext, str]) -> Iterator[Page]:
    """A new tab of that browser on the confirmation page."""
    context, url = sent
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    yield page
    page.close()


def test_the_letter_print_view_asks_the_questions_for_an_opinion_only(
    confirmation: Page, screenshot: Screenshot
) -> None:
    page = confirmation
    page.set_viewport_size({"width": LETTER_WIDTH, "height": 900})
    page.get_by_role("link", name="print view").click()
    letter = page.get_by_role("article", name="Second-opinion referral")
    expect(letter.locator(".questions li")).to_have_text(list(QUESTIONS))
    expect(letter.locator(".scope")).to_have_text(SCOPE_STATEMENT)
    expect(letter).to_contain_text("the referring physician stays in charge of the patient's care")
    expect(letter).to_contain_text("Dr. Riley Chen, MD (Summit Occupational Medicine)")
    expect(page.get_by_role("link", name="Download the letter (PDF)")).to_be_visible()
    screenshot(page, "letter.png")


HANDOUT_POINTS = {  # heading: a sentence of its section (fhir_mappings/handout.py)
    "en": {"This is not an IME": "This visit is not an IME.",
           "Your doctor stays in charge": "The new doctor will not take over your care."},
    "es": {"Esto no es un IME": "Esta cita no es un IME.",
           "Su médico sigue a cargo": "El otro médico no va a tomar su caso."},
}


@pytest.mark.parametrize(("lang", "link", "image"), [
    ("en", "English", "handout.png"),
    ("es", "Español", "handout-es.png"),
])
def test_the_handout_print_view_says_no_ime_and_your_doctor_stays_in_charge(
    confirmation: Page, screenshot: Screenshot, lang: str, link: str, image: str
) -> None:
    page = confirmation
    page.set_viewport_size({"width": HANDOUT_WIDTH, "height": 1056})
    page.get_by_role("link", name=link, exact=True).click()
    handout = page.locator(f"article.handout[lang='{lang}']")
    for heading, sentence in HANDOUT_POINTS[lang].items():
        section = handout.locator("section", has=page.get_by_role("heading", name=heading))
        expect(section).to_contain_text(sentence)
    expect(handout).to_contain_text("Dr. Riley Chen, MD")
    screenshot(page, image)


def test_the_letter_gives_birth_date_injury_and_how_to_reach_the_referring_clinic(
    confirmation: Page,
) -> None:
    page = confirmation
    page.get_by_role("link", name="print view").click()
    letter = page.get_by_role("article", name="Second-opinion referral")
    for label, value in (("Date of birth", "March 12, 1984"), ("Date of injury", "November 3, 2025"),
                         ("Phone", "303-555-0145"), ("Fax", "303-555-0141"),
                         ("Referring clinic", "Front Range Occupational Health"),
                         ("Address", "2201 East Colfax Avenue, Denver, CO 80206")):
        expect(letter.locator("div", has=page.locator("dt", has_text=label)).first).to_contain_text(value)
    expect(letter.locator(".return")).to_contain_text("fax it to 303-555-0141")
    expect(letter).to_contain_text("Opinion needed by")


@pytest.mark.parametrize("link", ["print view", "English", "Español"])
def test_the_documents_read_at_320_px_and_pass_axe(confirmation: Page, link: str) -> None:
    page = confirmation
    page.set_viewport_size({"width": 320, "height": 800})
    page.get_by_role("link", name=link, exact=True).click()
    expect(page.locator("article.document")).to_be_visible()
    assert page.evaluate(WIDER_THAN_320) == []
    assert [v["id"] for v in Axe().run(page).response["violations"]] == []
