"""The composer as a new ATP meets it in a 320 px EHR side panel, with and without JavaScript
(issue 16, items 1-5): buttons act in place or come back focused where they acted, warnings show
when a physician is picked, only what the visit type needs is shown, large charts filter, and the
directory's Level II filter lists only physicians who can be chosen, readable at 320 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.conftest import choose_physician
from tests.e2e.test_composer_journeys import MMI, WIDER_THAN_320, _launch, _violations
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]
NARROW: ViewportSize = {"width": 320, "height": 700}


@pytest.fixture
def narrow(page: Page) -> Page:
    page.set_viewport_size(NARROW)
    return page


@pytest.fixture
def no_script(browser: Browser) -> Iterator[Page]:
    """A 320 px browser with JavaScript turned off: every button posts."""
    context = browser.new_context(java_script_enabled=False, viewport=NARROW)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _lands_on(page: Page, element_id: str) -> None:
    """The page (new after a post) has put the focus on this element."""
    expect(page.locator(f"#{element_id}")).to_be_focused()


def test_without_script_each_question_button_comes_back_on_its_box(no_script: Page, sandbox: Sandbox) -> None:
    page = no_script
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("First?")
    page.get_by_label("Question template").select_option(label="MMI")
    page.get_by_role("button", name="Add template question").click()
    _lands_on(page, "question-2")
    assert page.evaluate("window.scrollY") > 0
    expect(page.get_by_label("Question 2", exact=True)).to_have_value(MMI)
    page.get_by_role("button", name="Move up question 2").click()
    _lands_on(page, "question-1")  # the moved box, now first
    expect(page.get_by_label("Question 1", exact=True)).to_have_value(MMI)
    page.get_by_role("button", name="Add question").click()
    _lands_on(page, "question-3")
    page.get_by_role("button", name="Remove question 1").click()
    _lands_on(page, "question-1")
    expect(page.get_by_label("Question 1", exact=True)).to_have_value("First?")


def test_with_script_the_question_buttons_act_in_place(narrow: Page, sandbox: Sandbox) -> None:
    page = narrow
    _launch(page, sandbox)
    page.evaluate("window.stayed = true")  # gone if any button reloads the page
    page.get_by_label("Question 1", exact=True).fill("First?")
    page.get_by_label("Question template").select_option(label="Surgery or injections")
    page.get_by_role("button", name="Add template question").click()
    expect(page.get_by_label("Question 2", exact=True)).to_be_focused()
    expect(page.get_by_label("Question 2", exact=True)).to_have_value(
        "Is the patient a candidate for surgery or for injections? If so, which procedure, and what "
        "functional outcome do you expect from it?")
    page.get_by_role("button", name="Move up question 2").click()
    expect(page.get_by_label("Question 1", exact=True)).to_be_focused()
    expect(page.get_by_label("Question 2", exact=True)).to_have_value("First?")
    expect(page.get_by_role("button", name="Move up question 1")).to_be_disabled()
    page.get_by_role("button", name="Remove question 1").click()
    expect(page.get_by_label("Question 1", exact=True)).to_have_value("First?")
    expect(page.get_by_label("Question 2", exact=True)).to_have_count(0)
    assert page.evaluate("window.stayed === true")
    expect(page.locator(".notes")).to_contain_text("Question 1 of 1: First?")


def test_with_script_a_physician_picked_shows_its_warnings_at_once(narrow: Page, sandbox: Sandbox) -> None:
    page = narrow
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Is the diagnosis correct?")
    choose_physician(page, "PractitionerRole/so-3")  # Level II limited, PM&R, in person only
    notes = page.locator("#acknowledge")
    expect(notes).to_contain_text("is not listed as an occupational medicine physician")
    page.get_by_label("Visit type").select_option(label="Telehealth")
    expect(notes).to_contain_text("directory entry does not list telehealth")
    expect(page.locator("#before-sending")).to_contain_text("does not list telehealth")
    choose_physician(page, "PractitionerRole/so-4")  # Level I only
    expect(notes).to_contain_text("Dr. Taylor Brennan, MD is not Level II accredited in Colorado.")
    assert _violations(page) == []


def test_without_script_the_warnings_come_after_a_button(no_script: Page, sandbox: Sandbox) -> None:
    page = no_script
    _launch(page, sandbox)
    page.get_by_label("Question 1", exact=True).fill("Please prepare for the hearing.")
    choose_physician(page, "PractitionerRole/so-5")  # not accredited
    page.get_by_role("button", name="Check the chosen physician").click()
    _lands_on(page, "physician-notes-title")
    expect(page.locator("#acknowledge")).to_contain_text("Dr. Avery Nakamura, DO is not Level II accredited")
    expect(page.locator("#ime-warning")).to_contain_text("Question 1 (“Please prepare for the hearing.”)")
    expect(page.locator("#before-sending")).to_contain_text("not Level II accredited")


def test_only_what_the_visit_type_needs_is_shown(narrow: Page, sandbox: Sandbox) -> None:
    page = narrow
    _launch(page, sandbox)
    window, records = page.locator("#window"), page.locator("#records")
    expect(window).to_be_hidden()
    expect(records).to_be_hidden()
    page.get_by_label("Visit type").select_option(label="Medical record review")
    expect(records).to_be_visible()
    expect(window).to_be_hidden()
    page.get_by_label("Visit type").select_option(label="In person")
    expect(window).to_be_visible()
    expect(records).to_be_hidden()


def test_without_script_the_visit_type_button_shows_its_section(no_script: Page, sandbox: Sandbox) -> None:
    page = no_script
    _launch(page, sandbox)
    expect(page.locator("#window")).to_be_hidden()
    page.get_by_label("Visit type").select_option(label="Telehealth")
    page.get_by_role("button", name="Show what this visit type needs").click()
    expect(page.locator("#window")).to_be_visible()
    expect(page.locator("#records")).to_be_hidden()
    _lands_on(page, "window-start")


def test_a_large_chart_filters_and_lists_the_injury_first(narrow: Page, sandbox: Sandbox) -> None:
    page = narrow
    _launch(page, sandbox, patient="wc-6")  # 320 conditions, date of injury 2021-06-01
    groups = page.locator(".condition-group")
    expect(groups.first).to_contain_text("Tied to this injury: onset on or after 2021-06-01")
    expect(groups.first.locator(".choice").first).to_contain_text("onset 2021-06-15")
    page.get_by_label("Filter the 320 conditions").fill("knee 2021")
    shown = page.locator("#reasons .choice:visible")
    expect(shown).to_have_count(10)  # "Pain in right knee" is every 4th episode: 284, 288 … 320
    for text in shown.all_inner_texts():
        assert "knee" in text and "2021" in text
    expect(page.locator("#condition-count")).to_have_text("10 of 320 match “knee 2021”.")
    assert page.evaluate(WIDER_THAN_320) == []


def test_without_script_the_condition_filter_posts_and_keeps_the_choice(
    no_script: Page, sandbox: Sandbox
) -> None:
    page = no_script
    _launch(page, sandbox, patient="wc-6")  # the first condition is chosen
    chosen = page.locator("#reasons input[name=reason]:checked").first.get_attribute("value")
    page.get_by_label("Filter the 320 conditions").fill("numbness 2014")
    page.get_by_role("button", name="Filter conditions").click()
    expect(page.locator("#condition-count")).to_contain_text("of 320 match “numbness 2014”.")
    _lands_on(page, "find-condition")
    for text in page.locator("#reasons .choice").all_inner_texts():
        assert "Numbness" in text and "2014" in text
    assert page.locator(f"input[type=hidden][name=reason][value='{chosen}']").count() == 1


def test_level_ii_only_lists_no_related_clinic_and_the_accreditation_reads_at_320(
    narrow: Page, sandbox: Sandbox
) -> None:
    page = narrow
    _launch(page, sandbox)
    page.get_by_label("Level II accredited only").check()
    page.get_by_role("button", name="Search the directory").click()
    radios = page.locator("input[type=radio][name=physician]")
    values = {radios.nth(i).get_attribute("value") for i in range(radios.count())}
    assert values == {"PractitionerRole/so-1", "PractitionerRole/so-2", "PractitionerRole/so-3",
                      "PractitionerRole/so-6"}  # so-7..so-9 are related; so-10 has expired
    assert page.locator("input[type=radio][name=physician][disabled]").count() == 0
    for line in page.locator(".card .accreditation").all():
        line.scroll_into_view_if_needed()
        box = line.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
        assert line.evaluate("e => e.scrollWidth <= e.clientWidth")  # nothing cut off
    expect(page.locator(".card").first).to_contain_text("Colorado DOWC Level II Accreditation (full)")
    assert page.evaluate(WIDER_THAN_320) == []
    assert _violations(page) == []
