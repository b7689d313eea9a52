"""The fault matrix: an EHR that fails in every common way, through a real proxy on 127.0.0.1.

Whatever the EHR does, the ATP sees a plain message, the draft is kept,
nothing is half written and no answer is a 500 page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from smart_app.config import Settings
from smart_app.store import Launch
from tests.fault_proxy import Fault, FaultProxy, Json, running_proxy
from tests.pages import form_fields, launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

HTML_ERROR = "<html><body><h1>502 Bad Gateway</h1><p>nginx upstream PROXY-SECRET</p></body></html>"
OUTCOME = (
    '{"resourceType":"OperationOutcome",'
    '"issue":[{"severity":"error","code":"invalid","diagnostics":"PROXY-SECRET"}]}'
)


@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    with running_proxy(sandbox.fhir_base) as running:
        yield running


def _launch_through(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, patient: str = "wc-2"
) -> tuple[requests.Session, requests.Response]:
    """Launch from the sandbox, then send this launch's FHIR calls through the proxy; the chart the
    callback read is no longer fresh, so the compose page reads it again (through the proxy)."""
    browser, page = launch_from_ehr(sandbox, patient=patient)
    assert page.status_code == 200, page.text
    with flask_app.extensions["second_opinion"].store.transaction() as db:
        row = db.get(Launch, launch_key(page.url))
        assert row is not None
        row.iss = proxy.base
    _chart_no_longer_fresh(flask_app, page)
    return browser, page


def _chart_no_longer_fresh(flask_app: Flask, page: requests.Response) -> None:
    """As if the kept chart were older than the compose page reuses: the next compose page reads it."""
    with flask_app.extensions["second_opinion"].store.transaction() as db:
        row = db.get(Launch, launch_key(page.url))
        assert row is not None
        row.chart_read_at = None


def _stored(sandbox: Sandbox, settings: Settings, referral_id: str) -> list[dict[str, Any]]:
    bundle = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/ServiceRequest",
        params={"identifier": f"{settings.namespace}/sid/referral|{referral_id}"},
    ).json()
    return [e["resource"] for e in bundle.get("entry", [])]


READ_FAULTS = {
    "500": (Fault("POST", "/fhir?", status=500, body=OUTCOME), 504, "The EHR had a problem answering"),
    "503": (Fault("POST", "/fhir?", status=503, body=""), 504, "The EHR had a problem answering"),
    "429": (Fault("POST", "/fhir?", status=429, headers={"Retry-After": "7"}), 504, "Try again in 7 seconds"),
    "malformed JSON": (Fault("POST", "/fhir?", status=200, body='{"resourceType": "Bun'), 502,
                       "could not be read"),
    "HTML error page": (Fault("POST", "/fhir?", status=200, body=HTML_ERROR, content_type="text/html"), 502,
                        "could not be read"),
    "expired token": (Fault("POST", "/fhir?", status=401, body=OUTCOME), 401, "no longer accepts"),
    "narrowed scope": (Fault("POST", "/fhir?", status=403, body=OUTCOME), 403, "did not allow"),
    "wrong shape": (Fault("POST", "/fhir?", rewrite=lambda b: {**b, "entry": b["entry"][:2]}), 502,
                    "did not match"),
    "not a batch-response": (Fault("POST", "/fhir?", status=200, body='{"resourceType":"Patient","id":"x"}'),
                             502, "did not match"),
    "status without a code": (
        Fault("POST", "/fhir?", rewrite=lambda b: _each_entry(b, {"status": "OK"})),
        502, "did not match"),
    "patient without id": (
        Fault("POST", "/fhir?", rewrite=lambda b: _patient_without_id(b)),
        502, "could not be read as FHIR"),
}


def _each_entry(bundle: Json, response: Json) -> Json:
    return {**bundle, "entry": [{**e, "response": response} for e in bundle["entry"]]}


def _patient_without_id(bundle: Json) -> Json:
    first = bundle["entry"][0]
    patient = {k: v for k, v in first["resource"].items() if k != "id"}
    return {**bundle, "entry": [{**first, "resource": patient}, *bundle["entry"][1:]]}


@pytest.mark.parametrize("name", sorted(READ_FAULTS))
def test_a_failing_ehr_gives_the_compose_page_a_plain_message(
    name: str, proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    fault, status, words = READ_FAULTS[name]
    browser, page = _launch_through(proxy, sandbox, flask_app)
    proxy.faults.append(fault)
    answer = browser.get(page.url, timeout=30)
    assert answer.status_code == status, answer.text
    assert words in answer.text
    assert "PROXY-SECRET" not in answer.text and "Something went wrong" not in answer.text


SEND_FAULTS = {
    "OperationOutcome 422": (Fault("POST", "/fhir?", status=422, body=OUTCOME), 502,
                             "did not accept"),
    "expired token": (Fault("POST", "/fhir?", status=401, body=OUTCOME), 401, "no longer accepts"),
    "narrowed scope": (Fault("POST", "/fhir?", status=403, body=OUTCOME), 403, "did not allow"),
    "429": (Fault("POST", "/fhir?", status=429, headers={"Retry-After": "30"}), 504,
            "Try again in 30 seconds"),
    "503": (Fault("POST", "/fhir?", status=503), 504, "Nothing was sent"),
    "500 before storing": (Fault("POST", "/fhir?", status=500, body=HTML_ERROR,
                                 content_type="text/html"), 504, "not known yet"),
}


@pytest.mark.parametrize("name", sorted(SEND_FAULTS))
def test_a_refused_send_keeps_the_draft_and_writes_nothing(
    name: str, proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    fault, status, words = SEND_FAULTS[name]
    browser, page = _launch_through(proxy, sandbox, flask_app)
    proxy.faults.append(fault)
    data = referral_form(page.text, question=["Is a repeat MRI warranted?"])
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == status, answer.text
    assert words in answer.text and "Is a repeat MRI warranted?" in answer.text
    assert form_fields(answer.text).hidden["referral_id"] == data["referral_id"]
    assert "PROXY-SECRET" not in answer.text
    assert _stored(sandbox, app_settings, str(data["referral_id"])) == []


def test_a_timed_out_send_that_the_ehr_stored_is_reported_sent(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Defect: after a timeout the page said "Nothing was sent" while the EHR had stored it."""
    browser, page = _launch_through(proxy, sandbox, flask_app)
    timeout = flask_app.extensions["second_opinion"].http.timeout
    proxy.faults.append(Fault("POST", "/fhir?", delay_after=timeout + 0.5, times=1))
    data = referral_form(page.text)
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "/referrals/" in answer.url and "Nothing was sent" not in answer.text
    assert len(_stored(sandbox, app_settings, str(data["referral_id"]))) == 1


def test_a_timed_out_send_not_yet_stored_says_not_known_and_a_retry_stores_it_once(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    browser, page = _launch_through(proxy, sandbox, flask_app)
    timeout = flask_app.extensions["second_opinion"].http.timeout
    proxy.faults.append(Fault("POST", "/fhir?", delay_before=timeout + 0.5, times=1))
    data = referral_form(page.text)
    url = page.url.replace("/compose", "/referrals")
    answer = browser.post(url, data=data, timeout=30)
    assert answer.status_code == 504 and "not known yet" in answer.text
    assert "Nothing was sent" not in answer.text
    time.sleep(1.0)  # the delayed create reaches the EHR now
    again = browser.post(url, data=data, timeout=30)
    assert again.status_code == 200 and "/referrals/" in again.url
    assert len(_stored(sandbox, app_settings, str(data["referral_id"]))) == 1


def test_a_create_answered_with_another_resource_is_not_recorded_as_sent(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Defect: a 200 carrying another resource's id was recorded as sent."""
    browser, page = _launch_through(proxy, sandbox, flask_app)
    other = (
        '{"resourceType":"Bundle","type":"transaction-response","entry":['
        '{"response":{"status":"201 Created","location":"ServiceRequest/someone-else/_history/1"},'
        '"resource":{"resourceType":"ServiceRequest","id":"someone-else","status":"active","intent":"order"}},'
        '{"response":{"status":"201 Created","location":"Provenance/p-1/_history/1"}}]}'
    )
    proxy.faults.append(Fault("POST", "/fhir?", status=200, body=other))
    data = referral_form(page.text)
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 502, answer.text
    assert "was not this referral" in answer.text and "someone-else" not in answer.text
    assert _stored(sandbox, app_settings, str(data["referral_id"])) == []


def test_the_confirmation_reads_nothing_more_after_a_create_that_returned_the_resource(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, page = _launch_through(proxy, sandbox, flask_app)
    url = page.url.replace("/compose", "/referrals")
    answer = browser.post(url, data=referral_form(page.text), timeout=30)
    assert answer.status_code == 200 and "/referrals/" in answer.url
    assert proxy.seen == ["POST /fhir"]  # the transaction returned the ServiceRequest


def test_a_failing_ehr_opens_the_breaker_and_later_calls_fail_fast(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, page = _launch_through(proxy, sandbox, flask_app)
    proxy.faults.append(Fault("*", "/fhir", status=503))
    for _ in range(3):
        assert browser.get(page.url, timeout=30).status_code == 504
    reached = len(proxy.seen)
    answer = browser.get(page.url, timeout=30)
    assert answer.status_code == 504 and "not calling it for a moment" in answer.text
    assert len(proxy.seen) == reached  # refused without waiting on the EHR


def test_a_server_without_batch_gets_parallel_reads(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, page = _launch_through(proxy, sandbox, flask_app)
    proxy.faults.append(Fault("POST", "/fhir?", status=405, body=OUTCOME))
    answer = browser.get(page.url, timeout=30)
    assert answer.status_code == 200, answer.text
    assert form_fields(answer.text).hidden["patient"] == "Patient/wc-2"
    proxy.seen.clear()
    _chart_no_longer_fresh(flask_app, page)
    assert browser.get(page.url, timeout=30).status_code == 200
    assert all(s.startswith("GET ") for s in proxy.seen) and len(proxy.seen) == 9  # no batch retried


def _cut_conditions(bundle: Json) -> Json:
    """A batch answer whose Condition search says total 320 but holds 100 and no next link."""
    entry = bundle["entry"][1]
    search = entry["resource"]
    cut = {**search, "entry": search["entry"][:100], "link": []}
    return {**bundle, "entry": [bundle["entry"][0], {**entry, "resource": cut}, *bundle["entry"][2:]]}


def test_a_chart_cut_short_inside_a_batch_is_read_whole(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    """Issue 7 defect 6: total 320, 100 entries, no next: the rest is read by a plain search."""
    browser, page = _launch_through(proxy, sandbox, flask_app, patient="wc-6")
    proxy.faults.append(Fault("POST", "/fhir?", rewrite=_cut_conditions))
    answer = browser.get(page.url, timeout=30)
    assert len(form_fields(answer.text).checkboxes["reason"]) == 320
    assert "conditions-partial" not in answer.text


def test_a_chart_the_ehr_will_not_send_whole_says_how_much_is_shown(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, page = _launch_through(proxy, sandbox, flask_app, patient="wc-6")
    proxy.faults.append(Fault("POST", "/fhir?", rewrite=_cut_conditions))
    proxy.faults.append(Fault("GET", "/Condition?", rewrite=lambda b: {**b, "entry": b["entry"][:150],
                                                                       "link": []}))
    answer = browser.get(page.url, timeout=30)
    assert len(form_fields(answer.text).checkboxes["reason"]) == 150
    assert "Showing 150 of 320 active conditions" in answer.text


def test_a_server_without_transactions_gets_a_conditional_create_and_its_provenance(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    """Epic-like: POST [base] is refused, so the ServiceRequest and the Provenance go one by one."""
    browser, page = _launch_through(proxy, sandbox, flask_app)
    proxy.faults.append(Fault("POST", "/fhir?", status=405, body=OUTCOME))
    data = referral_form(page.text)
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 200 and "/referrals/" in answer.url, answer.text
    [stored] = _stored(sandbox, app_settings, str(data["referral_id"]))
    provenance = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/Provenance", params={"target": f"ServiceRequest/{stored['id']}"}
    ).json()
    assert [e["resource"]["target"] for e in provenance.get("entry", [])] == [
        [{"reference": f"ServiceRequest/{stored['id']}"}]
    ]
    again = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert again.status_code == 200
    assert len(_stored(sandbox, app_settings, str(data["referral_id"]))) == 1  # sent once
