"""Ids and numbers from outside are whole matches, over HTTP.

A referral id is 32 hex digits, whole: ``re.match`` with ``^…$`` accepts a final newline,
so the probe's resend of ``<id>\\n`` made a second ServiceRequest whose identifier ended in
a newline. A number is ASCII digits: ``"²".isdigit()`` is true and ``int("²")`` fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from smart_app.config import Settings
from smart_app.store import Launch
from tests.fault_proxy import Fault, FaultProxy, running_proxy
from tests.pages import launch_from_ehr, launch_key, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def _service_requests(sandbox: Sandbox, patient: str) -> set[str]:
    bundle = sandbox.admin_session().get(f"{sandbox.fhir_base}/ServiceRequest",
                                         params={"subject": patient, "_count": "1000"}).json()
    assert len(bundle.get("entry", [])) == bundle.get("total", len(bundle.get("entry", [])))
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def _referral_identifiers(sandbox: Sandbox, settings: Settings, ids: set[str]) -> list[str]:
    admin = sandbox.admin_session()
    values = []
    for resource_id in sorted(ids):
        resource = admin.get(f"{sandbox.fhir_base}/ServiceRequest/{resource_id}").json()
        values += [i["value"] for i in resource.get("identifier", [])
                   if i.get("system") == f"{settings.namespace}/sid/referral"]
    return values


@pytest.mark.parametrize("suffix", ["\n", "\r\n", " ", "\u0660"])
def test_a_resend_with_a_changed_id_makes_no_second_service_request(
    sandbox: Sandbox, app_settings: Settings, suffix: str
) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2")
    data = referral_form(page.text)
    sent_to = page.url.replace("/compose", "/referrals")
    before = _service_requests(sandbox, "Patient/wc-2")
    first = browser.post(sent_to, data=data, timeout=30)
    assert first.status_code == 200 and "Referral sent" in first.text
    written = _service_requests(sandbox, "Patient/wc-2") - before
    assert _referral_identifiers(sandbox, app_settings, written) == [data["referral_id"]]

    again = browser.post(sent_to, data={**data, "referral_id": f"{data['referral_id']}{suffix}"}, timeout=30)
    assert again.status_code == 422 and "The form was damaged in transit." in again.text
    assert _service_requests(sandbox, "Patient/wc-2") - before == written


def test_the_same_id_sent_again_is_the_first_referral(sandbox: Sandbox, app_settings: Settings) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2")
    data = referral_form(page.text)
    sent_to = page.url.replace("/compose", "/referrals")
    before = _service_requests(sandbox, "Patient/wc-2")
    for _ in range(2):
        answer = browser.post(sent_to, data=data, timeout=30)
        assert answer.status_code == 200 and "Referral sent" in answer.text
    assert len(_service_requests(sandbox, "Patient/wc-2") - before) == 1




@pytest.fixture
def proxy(sandbox: Sandbox) -> Iterator[FaultProxy]:
    with running_proxy(sandbox.fhir_base) as running:
        yield running


def test_a_retry_after_of_other_digits_reads_as_a_moment(
    proxy: FaultProxy, sandbox: Sandbox, flask_app: Flask
) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-2")
    with flask_app.extensions["second_opinion"].store.transaction() as db:
        row = db.get(Launch, launch_key(page.url))
        assert row is not None
        row.iss, row.chart_read_at = proxy.base, None  # the compose page reads the chart again
    proxy.faults.append(Fault("POST", "/fhir?", status=429, headers={"Retry-After": "\u00b2"}))
    answer = browser.get(page.url, timeout=30)
    assert answer.status_code == 504 and "Try again in a moment." in answer.text
