"""A form token of any characters is refused like a wrong one: a 400 in plain words, never a 500.

``hmac.compare_digest`` raises TypeError on a ``str`` that is not ASCII; an attacker's probe
found ``csrf_token=é`` answered "Something went wrong" on every form of a launch.
"""

from __future__ import annotations

import base64

import pytest
import requests

from smart_app.launches import tokens_equal
from tests.clinic_ehr import clinic_root
from tests.clinic_referral import deliver
from tests.pages import browser_session, form_fields, launch_from_ehr
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

# "forged": the wrong ASCII token the others must be refused like
ODD_TOKENS = pytest.mark.parametrize(
    "token", ["é", "\u200b", "☃" * 43, "forged"], ids=["e-acute", "zero-width-space", "snowmen", "forged"]
)


@pytest.fixture(scope="module")
def launched(sandbox: Sandbox) -> tuple[requests.Session, str]:
    browser, page = launch_from_ehr(sandbox, patient="wc-1")
    assert page.status_code == 200
    return browser, page.url.removesuffix("/compose")


@ODD_TOKENS
@pytest.mark.parametrize("path", ["/compose", "/referrals", "/referrals/" + "0" * 32 + "/retry"])
def test_every_form_refuses_a_token_of_any_characters_plainly(
    launched: tuple[requests.Session, str], path: str, token: str
) -> None:
    browser, base = launched
    answer = browser.post(f"{base}{path}", data={"csrf_token": token}, timeout=30, allow_redirects=False)
    assert answer.status_code == 400, answer.status_code
    assert "The form could not be accepted" in answer.text
    assert "Reload the page and try again" in answer.text


def test_tokens_compare_whatever_their_characters() -> None:
    assert tokens_equal("abc", "abc")
    assert not tokens_equal("abc", "abé")
    assert not tokens_equal("abc", "\ud800")  # a lone surrogate never matches, never raises
    assert tokens_equal("é☃", "é☃")


@ODD_TOKENS
@pytest.mark.parametrize("action", ["accept", "decline", "hold", "draft", "sign"])
def test_the_physicians_forms_refuse_a_token_of_any_characters(
    sandbox: Sandbox, token: str, action: str
) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-1")
    browser = browser_session()
    page = browser.post(
        f"{clinic_root(sandbox)}/ehr/launch",
        data={"practitioner": "so-1", "task": delivered.task_id},
        timeout=30,
    )
    assert page.status_code == 200 and form_fields(page.text).hidden["csrf_token"]
    refused = browser.post(
        f"{page.url}/{action}", data={"csrf_token": token}, timeout=30, allow_redirects=False
    )
    assert refused.status_code == 400 and "The form could not be accepted" in refused.text


@pytest.mark.parametrize("secret", ["é", "\u200b", "forged"], ids=["e-acute", "zero-width-space", "forged"])
def test_the_sandbox_token_endpoint_refuses_a_secret_of_any_characters(sandbox: Sandbox, secret: str) -> None:
    basic = base64.b64encode(f"second-opinion-basic:{secret}".encode()).decode()
    answer = requests.post(
        f"{sandbox.ehr_url}oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"},
        timeout=10,
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
