"""need_patient_banner and smart_style_url from the sandbox's token response, over real HTTP."""

from __future__ import annotations

import pytest

from tests.pages import browser_session, launch_from_ehr
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def test_when_the_ehr_shows_its_banner_ours_is_a_compact_line(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox, patient="wc-1", banner="0")
    assert page.status_code == 200
    assert 'class="patient-line"' in page.text and "Dana Whitfield" in page.text
    assert 'class="banner"' not in page.text and "1984-03-12" not in page.text


def test_by_default_our_patient_banner_is_shown(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox, patient="wc-1")
    assert 'class="banner"' in page.text and "1984-03-12" in page.text


def test_the_ehr_style_arrives_as_a_generated_stylesheet_of_safe_values(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-1")
    assert "/ehr-style.css" in page.text
    sheet = browser.get(page.url.replace("/compose", "/ehr-style.css"), timeout=30)
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].startswith("text/css")
    assert "--ehr-color-highlight: #1f6f8b;" in sheet.text
    assert "body { font-family: var(--ehr-font-body); }" in sheet.text
    assert "--ehr-color-modal" not in sheet.text  # only the properties we map


def test_the_stylesheet_belongs_to_the_launch(sandbox: Sandbox) -> None:
    _, page = launch_from_ehr(sandbox, patient="wc-1")
    stranger = browser_session().get(page.url.replace("/compose", "/ehr-style.css"), timeout=30)
    assert stranger.status_code == 401
