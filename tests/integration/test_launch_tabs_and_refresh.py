"""Two tabs, a renewed cookie, refresh single-flight and a refused refresh, over real HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.pages import browser_session, form_fields, launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def test_a_cookie_from_before_the_callback_opens_nothing(sandbox: Sandbox, live_app: str) -> None:
    browser = browser_session()
    to_app = browser.post(f"{sandbox.ehr_url}ehr/launch", data={"practitioner": "atp-1", "patient": "wc-1"},
                          allow_redirects=False, timeout=30)
    to_ehr = browser.get(to_app.headers["Location"], allow_redirects=False, timeout=30)
    planted = dict(browser.cookies)  # what an attacker could have planted or copied before sign-in
    page = browser.get(to_ehr.headers["Location"], timeout=30)
    assert page.status_code == 200
    assert dict(browser.cookies) != planted
    attacker = browser_session()
    for name, value in planted.items():
        attacker.cookies.set(name, value)
    assert attacker.get(page.url, timeout=30).status_code == 401


def test_two_tabs_on_two_patients_both_keep_their_patient(sandbox: Sandbox) -> None:
    browser, first = launch_from_ehr(sandbox, patient="wc-1")
    _, second = launch_from_ehr(sandbox, patient="wc-3", browser=browser)
    assert launch_key(first.url) != launch_key(second.url)
    again_first, again_second = browser.get(first.url, timeout=30), browser.get(second.url, timeout=30)
    assert form_fields(again_first.text).hidden["patient"] == "Patient/wc-1"
    assert form_fields(again_second.text).hidden["patient"] == "Patient/wc-3"


def test_a_token_near_expiry_is_refreshed_once_for_concurrent_requests(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, token_ttl="30")  # inside the 120 s refresh margin
    assert page.status_code == 200
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: browser.get(page.url, timeout=30).status_code, range(6)))
    assert answers == [200] * 6  # a refresh token spent twice would have ended the launch


def test_a_refused_refresh_keeps_the_draft_and_says_to_reopen(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2", token_ttl="30")
    requests.post(f"{sandbox.ehr_url}ehr/sign-out", data={"practitioner": "atp-1"}, timeout=30)
    data = referral_form(page.text, question=["Is surgery indicated for the left shoulder?"])
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 401
    assert "Reopen Second Opinion from the patient" in answer.text
    assert "Is surgery indicated for the left shoulder?" in answer.text
    # the launch has ended: the next page asks for a new launch
    assert browser.get(page.url, timeout=30).status_code == 401
