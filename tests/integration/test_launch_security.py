"""Every launch and callback input is checked; refusals are plain words or an OperationOutcome."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.pages import browser_session, form_fields, launch_from_ehr, launch_key
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def _start_launch(sandbox: Sandbox) -> tuple[requests.Session, dict[str, str]]:
    """Launch from the EHR but stop at the authorize redirect; returns its query."""
    browser = browser_session()
    to_app = browser.post(
        f"{sandbox.ehr_url}ehr/launch",
        data={"practitioner": "atp-1", "patient": "wc-1"},
        allow_redirects=False,
        timeout=30,
    )
    to_ehr = browser.get(to_app.headers["Location"], allow_redirects=False, timeout=30)
    assert to_ehr.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(to_ehr.headers["Location"]).query).items()}
    return browser, query


def test_the_authorize_request_uses_pkce_s256_state_and_aud(sandbox: Sandbox) -> None:
    _, query = _start_launch(sandbox)
    assert query["code_challenge_method"] == "S256"
    assert query["aud"] == sandbox.fhir_base
    assert len(query["state"]) >= 43 and query["launch"]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"launch": "abc"}, "iss is missing"),
        ({"iss": "https://evil.example.org/fhir", "launch": "abc"}, "not registered"),
        ({"iss": "{fhir}"}, "launch is missing"),
    ],
)
def test_bad_launch_requests_are_refused_in_plain_words(
    sandbox: Sandbox, live_app: str, params: dict[str, str], message: str
) -> None:
    params = {k: v.replace("{fhir}", sandbox.fhir_base) for k, v in params.items()}
    answer = requests.get(f"{live_app}/launch", params=params, timeout=30)
    assert answer.status_code == 400
    assert message in answer.text
    assert answer.headers["Content-Type"].startswith("text/html")


def test_machines_get_an_operation_outcome(live_app: str) -> None:
    answer = requests.get(
        f"{live_app}/launch",
        params={"iss": "https://evil.example.org/fhir", "launch": "x"},
        headers={"Accept": "application/fhir+json"},
        timeout=30,
    )
    assert answer.status_code == 400
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "invalid"
    assert "not registered" in outcome["issue"][0]["diagnostics"]


def test_a_tampered_state_is_refused(sandbox: Sandbox, live_app: str) -> None:
    browser, query = _start_launch(sandbox)
    answer = browser.get(
        f"{live_app}/callback", params={"code": "x", "state": query["state"] + "x"}, timeout=30
    )
    assert answer.status_code == 400 and "unknown or was already used" in answer.text


def test_a_state_works_once_and_only_in_the_browser_that_started_it(
    sandbox: Sandbox, live_app: str
) -> None:
    browser, query = _start_launch(sandbox)
    stranger = requests.get(
        f"{live_app}/callback", params={"code": "x", "state": query["state"]}, timeout=30
    )
    assert stranger.status_code == 400 and "another browser" in stranger.text
    replay = browser.get(
        f"{live_app}/callback", params={"code": "x", "state": query["state"]}, timeout=30
    )
    assert replay.status_code == 400 and "already used" in replay.text


def test_an_error_from_the_ehr_is_explained(sandbox: Sandbox, live_app: str) -> None:
    browser, query = _start_launch(sandbox)
    answer = browser.get(
        f"{live_app}/callback",
        params={"error": "access_denied", "state": query["state"]},
        timeout=30,
    )
    assert answer.status_code == 400 and "did not allow" in answer.text


def test_compose_without_a_session_asks_for_a_launch(live_app: str) -> None:
    answer = requests.get(f"{live_app}/l/{'a' * 32}/compose", timeout=30)
    assert answer.status_code == 401 and "launch Second Opinion from there" in answer.text


def test_pages_carry_strict_headers_and_a_server_side_session(sandbox: Sandbox) -> None:
    browser, page = launch_from_ehr(sandbox)
    headers = page.headers
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    pending, renewed = [r.headers["Set-Cookie"] for r in page.history if "Set-Cookie" in r.headers]
    value = renewed.split(";", 1)[0].split("=", 1)[1]
    assert "HttpOnly" in renewed and pending.split("=", 1)[0] == renewed.split("=", 1)[0]
    assert "access_token" not in page.text and "." not in value  # opaque, not a JWT
    assert list(browser.cookies.keys()) == [f"__Host-so_{launch_key(page.url)}"]


def test_the_session_cookie_is_secure_host_locked_and_http_only(sandbox: Sandbox, live_app: str) -> None:
    answer = requests.get(f"{live_app}/launch", params={"iss": sandbox.fhir_base, "launch": "abc"},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert re.match(r"__Host-so_[0-9a-f]{32}=", cookie)
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie


def test_standalone_launch_lets_the_user_pick_the_patient_in_the_ehr(sandbox: Sandbox, live_app: str) -> None:
    browser = browser_session()
    home = browser.get(f"{live_app}/", timeout=30)
    assert "Local sandbox EHR" in home.text and "/standalone/sandbox" in home.text
    sign_in = browser.get(f"{live_app}/standalone/sandbox", timeout=30)
    assert "launch%2Fpatient" in sign_in.url or "launch/patient" in sign_in.url
    assert "Sign in to the sandbox EHR" in sign_in.text
    page = browser.post(sign_in.url, data={"practitioner": "atp-2", "patient": "wc-3", "decision": "allow"},
                        timeout=30)
    assert page.status_code == 200 and re.search(r"/l/[0-9a-f]{32}/compose$", page.url)
    assert form_fields(page.text).hidden["patient"] == "Patient/wc-3"


def test_a_user_who_denies_access_is_told_so(sandbox: Sandbox, live_app: str) -> None:
    browser = browser_session()
    sign_in = browser.get(f"{live_app}/standalone/sandbox", timeout=30)
    page = browser.post(sign_in.url, data={"practitioner": "atp-1", "patient": "wc-1", "decision": "deny"},
                        timeout=30)
    assert page.status_code == 400 and "did not allow" in page.text
