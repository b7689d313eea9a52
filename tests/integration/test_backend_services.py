"""client_credentials with private_key_jwt at the sandbox EHR, the assertion made by the app's own code."""

from __future__ import annotations

import time

import pytest
import requests
from flask import Flask

from smart_app.smart.client_assertion import ASSERTION_TYPE, client_assertion
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")
BACKEND = "second-opinion-backend"
SCOPE = "system/ServiceRequest.rus system/Provenance.c"


def _token(sandbox: Sandbox, assertion: str, scope: str = SCOPE) -> requests.Response:
    return requests.post(
        f"{sandbox.ehr_url}oauth/token",
        data={"grant_type": "client_credentials", "scope": scope,
              "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
        timeout=30,
    )


def _assertion(flask_app: Flask, sandbox: Sandbox, **overrides: str) -> str:
    key = flask_app.extensions["second_opinion"].keys.current
    token_url = overrides.get("aud", f"{sandbox.ehr_url}oauth/token")
    return client_assertion(key, client_id=overrides.get("client_id", BACKEND), token_url=token_url,
                            now=int(time.time()))


def test_discovery_advertises_backend_services(sandbox: Sandbox) -> None:
    config = requests.get(f"{sandbox.fhir_base}/.well-known/smart-configuration", timeout=30).json()
    assert "client_credentials" in config["grant_types_supported"]
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}


def test_a_signed_assertion_gets_a_system_token_the_gateway_accepts(
    sandbox: Sandbox, flask_app: Flask
) -> None:
    answer = _token(sandbox, _assertion(flask_app, sandbox), SCOPE + " system/Patient.rs")
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["scope"] == SCOPE and token["expires_in"] <= 300  # only what is asked and allowed
    read = requests.get(f"{sandbox.fhir_base}/ServiceRequest", params={"_count": "1"},
                        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)
    assert read.status_code == 200 and read.json()["resourceType"] == "Bundle"


def test_a_replayed_assertion_is_refused(sandbox: Sandbox, flask_app: Flask) -> None:
    assertion = _assertion(flask_app, sandbox)
    assert _token(sandbox, assertion).status_code == 200
    replay = _token(sandbox, assertion)
    assert replay.status_code in (400, 401) and replay.json()["error"] == "invalid_client"


@pytest.mark.parametrize("overrides", [{"aud": "https://elsewhere.example/token"},
                                       {"client_id": "second-opinion-unknown"}])
def test_a_wrong_audience_or_client_is_refused(
    sandbox: Sandbox, flask_app: Flask, overrides: dict[str, str]
) -> None:
    answer = _token(sandbox, _assertion(flask_app, sandbox, **overrides))
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"
