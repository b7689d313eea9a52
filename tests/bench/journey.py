"""One ATP journey, timed: the app (launch → compose → send) and the python ``fhirclient`` baseline.

Both start from the sandbox EHR's "Launch" button and follow the redirects one
by one like a browser, so that "callback → ready" can be timed on its own.
EHR requests are counted on the HTTP session that makes them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from fhirclient import client as fhir_client
from fhirclient.auth import FHIROAuth2Auth
from requests.adapters import HTTPAdapter

from tests.pages import browser_session, referral_form
from tests.sandbox_server import Sandbox

SCOPES = (
    "launch openid fhirUser patient/Patient.rs patient/Condition.rs patient/Coverage.rs "
    "patient/ServiceRequest.crs user/Practitioner.rs"
)


@dataclass(frozen=True)
class Journey:
    """What one journey cost."""

    total_ms: float
    ready_ms: float  # from the callback to a ready page (the app) or all reads done (baseline)
    requests_to_ready: int  # EHR requests from the callback to ready
    requests_total: int  # EHR requests of the whole journey
    conditions: int
    ready_window: tuple[float, float] = (0.0, 0.0)  # perf_counter() at the callback and at ready


class Counter:
    """Counts responses on a requests.Session (a response hook) and remembers when each ended."""

    def __init__(self, session: requests.Session, origin: str) -> None:
        self.origin = origin
        self.ended: list[float] = []
        session.hooks["response"].append(self._count)

    def _count(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        if response.url.startswith(self.origin):
            self.ended.append(time.perf_counter())

    def since(self, started: float) -> int:
        """Requests that ended after ``started``."""
        return sum(1 for t in self.ended if t >= started)


def _follow(browser: requests.Session, response: requests.Response, stop: str) -> requests.Response:
    """Follow redirects until the next one would go to a URL starting with ``stop``."""
    while response.is_redirect:
        target = urljoin(response.url, response.headers["Location"])
        if target.startswith(stop):
            return response
        response = browser.get(target, allow_redirects=False, timeout=60)
    return response


def app_journey(sandbox: Sandbox, app_url: str, patient: str, counter: Counter) -> Journey:
    """Launch from the EHR, load the compose page, send a referral, see the confirmation."""
    browser, started = browser_session(), time.perf_counter()
    first = browser.post(f"{sandbox.ehr_url}ehr/launch", data={"practitioner": "atp-1", "patient": patient},
                         allow_redirects=False, timeout=60)
    at_callback = _follow(browser, first, f"{app_url}/callback")
    callback_url = urljoin(at_callback.url, at_callback.headers["Location"])
    ready_started = time.perf_counter()
    page = browser.get(callback_url, timeout=60)
    ready = time.perf_counter()
    assert page.status_code == 200 and page.url.endswith("/compose"), page.status_code
    to_ready = counter.since(ready_started)
    data = referral_form(page.text, referral_id=uuid.uuid4().hex)
    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=60)
    assert sent.status_code == 200, sent.status_code
    ended = time.perf_counter()
    return Journey((ended - started) * 1000, (ready - ready_started) * 1000, to_ready,
                   counter.since(started), page.text.count('name="reason"'), (ready_started, ready))


def baseline_journey(
    sandbox: Sandbox, app_url: str, patient: str, namespace: str, adapter: HTTPAdapter | None = None
) -> Journey:
    """The same job with python ``fhirclient``: EHR launch, Patient, active Conditions, Coverage, create.

    ``adapter`` (if given) carries fhirclient's requests to the EHR, as the app's session does in the
    benchmark's 50 ms table.
    """
    browser, started = browser_session(), time.perf_counter()
    first = browser.post(f"{sandbox.ehr_url}ehr/launch", data={"practitioner": "atp-1", "patient": patient},
                         allow_redirects=False, timeout=60)
    launch = parse_qs(urlsplit(first.headers["Location"]).query)
    smart = fhir_client.FHIRClient(settings={
        "app_id": "second-opinion", "api_base": launch["iss"][0], "redirect_uri": f"{app_url}/callback",
        "launch_token": launch["launch"][0], "scope": SCOPES,
    })
    origin = launch["iss"][0].split("/fhir")[0]
    if adapter is not None:
        smart.server.session.mount(origin, adapter)
    counter = Counter(smart.server.session, origin)
    _use_smart_configuration(smart, app_url)
    authorize = browser.get(smart.authorize_url, allow_redirects=False, timeout=60)
    at_callback = _follow(browser, authorize, f"{app_url}/callback")
    ready_started = time.perf_counter()
    smart.handle_callback(urljoin(at_callback.url, at_callback.headers["Location"]))
    server, pid = smart.server, smart.patient_id
    patient_json = server.request_json(f"Patient/{pid}")
    conditions = _all_pages(server, f"Condition?patient={pid}&clinical-status=active")
    server.request_json(f"Coverage?patient={pid}")
    ready = time.perf_counter()
    to_ready = counter.since(ready_started)
    server.post_json("ServiceRequest", _service_request(patient_json, namespace))
    ended = time.perf_counter()
    return Journey((ended - started) * 1000, (ready - ready_started) * 1000, to_ready,
                   counter.since(started), len(conditions), (ready_started, ready))


def _use_smart_configuration(smart: Any, app_url: str) -> None:
    """fhirclient reads OAuth endpoints from the CapabilityStatement only; sekmet's lists them in
    .well-known/smart-configuration, which is one more request for the baseline (SMART 2.2 §2.1)."""
    smart.prepare()  # reads the CapabilityStatement, as fhirclient always does
    server = smart.server
    config = server.session.get(f"{server.base_uri}.well-known/smart-configuration", timeout=60).json()
    server.auth = FHIROAuth2Auth(state={
        "aud": server.aud, "app_id": "second-opinion", "redirect_uri": f"{app_url}/callback",
        "authorize_uri": config["authorization_endpoint"], "token_uri": config["token_endpoint"],
    })


def _all_pages(server: Any, path: str) -> list[dict[str, Any]]:
    bundle: dict[str, Any] = server.request_json(path)
    found = [e["resource"] for e in bundle.get("entry", [])]
    while nxt := next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None):
        bundle = server.request_json(nxt.removeprefix(server.base_uri))
        found += [e["resource"] for e in bundle.get("entry", [])]
    return found


def _service_request(patient: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "identifier": [{"system": f"{namespace}/sid/referral", "value": uuid.uuid4().hex}],
        "subject": {"reference": f"Patient/{patient['id']}"},
        "code": {"text": "Second opinion"},
        "note": [{"text": "Is the diagnosis correct?"}],
    }
