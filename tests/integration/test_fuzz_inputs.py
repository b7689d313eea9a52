"""Fuzzing the app's inputs over HTTP: launch, callback and compose never answer a server error."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smart_app.config import Settings
from smart_app.launches import cookie_name
from tests.pages import form_fields, launch_from_ehr
from tests.sandbox_server import Sandbox

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
params = st.text(max_size=80) | st.sampled_from(["", " ", "%00", "a" * 5000, "../../etc/passwd", "é☃"])


@FUZZ
@given(iss=params, launch=params, registered=st.booleans())
def test_any_launch_parameters_answer_plainly(
    flask_app: Flask, sandbox: Sandbox, iss: str, launch: str, registered: bool
) -> None:
    client = flask_app.test_client()
    answer = client.get("/launch", query_string={"iss": sandbox.fhir_base if registered else iss,
                                                 "launch": launch})
    assert answer.status_code in (302, 400), answer.status_code


@FUZZ
@given(state=params, code=params, error=params, cookie=st.text(max_size=100))
def test_any_callback_parameters_answer_plainly(
    flask_app: Flask, app_settings: Settings, state: str, code: str, error: str, cookie: str
) -> None:
    client = flask_app.test_client()
    client.set_cookie(cookie_name(app_settings, "0" * 32), cookie)
    answer = client.get("/callback", query_string={"state": state, "code": code, "error": error})
    assert 400 <= answer.status_code < 500, answer.status_code


@FUZZ
@given(
    fields=st.lists(
        st.tuples(st.sampled_from(["referral_id", "patient", "reason", "question", "modality",
                                   "physician", "action", "template", "csrf_token"]), params),
        max_size=12,
    ),
    path=st.sampled_from(["/compose", "/referrals"]),
)
def test_any_compose_input_answers_plainly(
    launched: tuple[requests.Session, str, str], fields: list[tuple[str, str]], path: str
) -> None:
    browser, base, csrf = launched
    data = [("csrf_token", csrf), *fields]
    answer = browser.post(f"{base}{path}", data=data, timeout=30, allow_redirects=False)
    assert answer.status_code < 500, answer.status_code


@pytest.fixture(scope="module")
def launched(sandbox: Sandbox, live_app: str) -> tuple[requests.Session, str, str]:
    """One launch whose forms the fuzzer fills: the browser, the app's URL and the CSRF token."""
    browser, page = launch_from_ehr(sandbox, patient="wc-1")
    assert page.status_code == 200
    return browser, live_app, form_fields(page.text).hidden["csrf_token"]
