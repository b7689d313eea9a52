"""The app's SMART Backend Services client at the clinic's own authorization server: it can read
the answer back (Task, letter); sekmet's own token endpoint serves the sandbox's admin alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify
from werkzeug.serving import make_server

from smart_app.keys import KeyRing, generate_key_file
from smart_app.smart.client_assertion import assertion_form
from tests.clinic_referral import NS, deliver
from tests.sandbox_server import Sandbox, free_port, start_sandbox

CLIENT_ID = "second-opinion-backend"  # the sandbox's SANDBOX_BACKEND_CLIENT_ID default


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing([generate_key_file(tmp_path_factory.mktemp("keys") / "app.pem")])


@pytest.fixture(scope="module")
def jwks_url(keys: KeyRing) -> Iterator[str]:
    """The app's public keys served over HTTP, as the app serves them."""
    app = Flask(__name__)
    app.add_url_rule("/.well-known/jwks.json", "jwks", lambda: jsonify(keys.jwks()))
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def keyed_sandbox(tmp_path_factory: pytest.TempPathFactory, jwks_url: str) -> Iterator[Sandbox]:
    data_dir: Path = tmp_path_factory.mktemp("keyed-sandbox")
    with start_sandbox(data_dir=data_dir, app_base_url=jwks_url) as running:
        yield running


def _app_token(sandbox: Sandbox, keys: KeyRing, scope: str, token_url: str = "") -> requests.Response:
    config = requests.get(f"{sandbox.clinic_fhir_base}/.well-known/smart-configuration", timeout=10).json()
    token_url = token_url or config["token_endpoint"]
    assert keys.current is not None
    form = assertion_form(keys.current, client_id=CLIENT_ID, token_url=token_url,
                          now=int(time.time()))
    return requests.post(token_url, data={"grant_type": "client_credentials", "scope": scope,
                                          **form}, timeout=10)


def test_the_app_can_search_tasks_and_read_the_letter(keyed_sandbox: Sandbox, keys: KeyRing
                                                      ) -> None:
    delivered = deliver(keyed_sandbox, ["Is the patient at MMI?"])
    letter = {"resourceType": "DocumentReference", "id": f"doc-{delivered.task_id}",
              "status": "current", "content": [{"attachment": {"contentType": "text/plain",
                                                               "data": "T2s="}}]}
    admin = keyed_sandbox.admin_session(clinic=True)
    base = keyed_sandbox.clinic_fhir_base
    assert admin.put(f"{base}/DocumentReference/{letter['id']}", json=letter).status_code == 201
    token = _app_token(keyed_sandbox, keys, "system/Task.rs system/DocumentReference.rs")
    assert token.status_code == 200, token.text
    app = requests.Session()
    app.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    found = app.get(f"{base}/Task", params={"identifier": f"{NS}/sid/referral|"
                                            f"{delivered.referral_id}"}, timeout=10)
    assert found.status_code == 200, found.text
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [delivered.task_id]
    read = app.get(f"{base}/DocumentReference/{letter['id']}", timeout=10)
    assert read.status_code == 200 and read.json()["id"] == letter["id"]


def test_the_token_holds_only_what_is_allowed(keyed_sandbox: Sandbox, keys: KeyRing) -> None:
    token = _app_token(keyed_sandbox, keys, "system/Task.rs system/Patient.rs system/Provenance.c")
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "system/Task.rs system/Provenance.c"  # no Patient read at the clinic
    assert token.json()["expires_in"] <= 300
    none_allowed = _app_token(keyed_sandbox, keys, "system/Patient.rs")
    assert (none_allowed.status_code, none_allowed.json()["error"]) == (400, "invalid_scope")


def test_sekmets_own_token_endpoint_no_longer_knows_the_app(keyed_sandbox: Sandbox, keys: KeyRing) -> None:
    sekmet = f"{keyed_sandbox.clinic_fhir_base.removesuffix('/fhir')}/auth/token"
    refused = _app_token(keyed_sandbox, keys, "system/Task.rs", token_url=sekmet)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
