"""One send builds and validates the referral's ServiceRequest once, for the EHR and the clinic's Bundle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

import fhir_mappings.service_request as service_request_module
from fhir_mappings.transaction import transaction_from_referral
from smart_app.config import Settings
from tests.pages import launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def _counted(calls: list[str], name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """``real``, unchanged, noting each call under ``name``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return real(*args, **kwargs)

    return wrapper


def test_one_send_builds_and_validates_the_service_request_once(
    sandbox: Sandbox, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, page = launch_from_ehr(sandbox, patient="wc-3")
    data = referral_form(page.text)
    calls: list[str] = []
    bundles: list[dict[str, Any]] = []

    def kept_bundle(*args: Any, **kwargs: Any) -> dict[str, Any]:
        bundles.append(transaction_from_referral(*args, **kwargs))
        return bundles[-1]

    monkeypatch.setattr(service_request_module, "_validated",
                        _counted(calls, "built", service_request_module._validated))  # fmt: skip
    monkeypatch.setattr(ServiceRequest, "model_validate",
                        _counted(calls, "validated", ServiceRequest.model_validate))  # fmt: skip
    monkeypatch.setattr("smart_app.referrals.routing.transaction_from_referral", kept_bundle)

    sent = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)

    assert sent.status_code == 200 and "Referral sent" in sent.text
    assert calls == ["built", "validated"]
    [bundle] = bundles  # the delivery was queued, its ServiceRequest taken from the one written
    resources = [entry["resource"] for entry in bundle["entry"]]
    [at_clinic] = [r for r in resources if r["resourceType"] == "ServiceRequest"]
    system = f"{app_settings.namespace}/sid/referral"
    ehr = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/ServiceRequest", params={"identifier": f"{system}|{data['referral_id']}"},
        timeout=30,
    ).json()["entry"][0]["resource"]  # fmt: skip
    assert at_clinic["text"] == ehr["text"] and at_clinic["note"] == ehr["note"]
    assert at_clinic["identifier"] == ehr["identifier"] and at_clinic["authoredOn"] == ehr["authoredOn"]
    assert at_clinic["subject"]["reference"].startswith("urn:uuid:")  # the Bundle's own references
    assert ehr["subject"]["reference"] == "Patient/wc-3"
