"""Inferno's SMART App Launch STU2.2 client checks, one test each, against the sandbox over HTTP.

Authorize request: app-launch.html#obtain-authorization-code. Token request:
app-launch.html#obtain-access-token, with client authentication per type:
public (client-public), client_secret_basic / client_secret_post
(client-confidential-symmetric) and private_key_jwt (client-confidential-asymmetric).
Each client type runs as its own app (one registration per iss) whose token
requests go to the sandbox over real HTTP; the sandbox records what it received.
"""

from __future__ import annotations

import base64
import hashlib
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet

from smart_app import create_app
from smart_app.config import Settings
from tests.sandbox_server import REPO_ROOT, Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

SECRET_ENV = "SO_TEST_SANDBOX_CLIENT_SECRET"
# the sandbox registration's own scopes: one list for the app and these checks
SCOPES = tomllib.loads((REPO_ROOT / "launch" / "registrations" / "sandbox.toml").read_text())["scopes"]


@dataclass
class Journey:
    """What one launch through a client type showed: the authorize query and the token request."""

    authorize: dict[str, str]
    token_request: dict[str, Any]
    compose_status: int


def _registration(folder: Path, sandbox: Sandbox, suffix: str, auth: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    secret = f'client_secret_env = "{SECRET_ENV}"\n' if auth.startswith("client_secret") else ""
    (folder / f"sandbox{suffix}.toml").write_text(
        f'name = "Local sandbox EHR ({auth})"\niss = "{sandbox.fhir_base}"\n'
        f'client_id = "second-opinion{suffix}"\nclient_auth = "{auth}"\n{secret}scopes = "{SCOPES}"\n'
    )
    return folder


def _client_app(tmp_path: Path, app_settings: Settings, sandbox: Sandbox, suffix: str,
                auth: str) -> FlaskClient:
    settings = app_settings.model_copy(update={
        "registrations": _registration(tmp_path / "registrations", sandbox, suffix, auth),
        "database_url": f"sqlite:///{tmp_path / 'app.sqlite3'}",
    })
    return create_app(settings).test_client()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _journey(app: FlaskClient, sandbox: Sandbox, client_id: str) -> Journey:
    to_app = requests.post(f"{sandbox.ehr_url}ehr/launch", data={"practitioner": "atp-1", "patient": "wc-1"},
                           allow_redirects=False, timeout=30)
    to_ehr = app.get(_path(to_app.headers["Location"]))
    assert to_ehr.status_code == 302
    authorize_url = to_ehr.headers["Location"]
    back = requests.get(authorize_url, allow_redirects=False, timeout=30)
    to_compose = app.get(_path(back.headers["Location"]))
    assert to_compose.status_code == 303, to_compose.text
    compose = app.get(_path(to_compose.headers["Location"]))
    recorded = requests.get(f"{sandbox.ehr_url}oauth/test/token-requests/{client_id}", timeout=30)
    assert recorded.status_code == 200
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    return Journey(query, recorded.json(), compose.status_code)


@pytest.fixture(params=[("", "none"), ("-basic", "client_secret_basic"),
                        ("-post", "client_secret_post"), ("-jwt", "private_key_jwt")],
                ids=lambda p: p[1])
def journey(request: pytest.FixtureRequest, tmp_path: Path, app_settings: Settings,
            sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Journey]]:
    suffix, auth = request.param
    monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
    app = _client_app(tmp_path, app_settings, sandbox, suffix, auth)
    yield auth, _journey(app, sandbox, f"second-opinion{suffix}")


def test_the_authorize_request_has_every_required_parameter(journey: tuple[str, Journey],
                                                            sandbox: Sandbox, app_url: str) -> None:
    auth, seen = journey
    query = seen.authorize
    assert query["response_type"] == "code"
    assert query["client_id"].startswith("second-opinion")
    assert query["redirect_uri"] == f"{app_url}/callback"
    assert query["launch"]
    assert len(query["state"]) >= 22  # at least 128 bits of entropy, base64url
    assert query["aud"] == sandbox.fhir_base  # aud = iss
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url SHA-256, no padding
    assert "launch" in query["scope"].split() and "openid" in query["scope"].split()
    assert seen.compose_status == 200


def test_the_token_request_repeats_redirect_uri_and_sends_the_verifier(journey: tuple[str, Journey],
                                                                       app_url: str) -> None:
    _, seen = journey
    token = seen.token_request
    assert token["grant_type"] == "authorization_code"
    assert token["redirect_uri"] == seen.authorize["redirect_uri"] == f"{app_url}/callback"
    digest = hashlib.sha256(token["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == seen.authorize["code_challenge"]
    assert 43 <= len(token["code_verifier"]) <= 128  # RFC 7636 §4.1


def test_the_client_authenticates_as_its_type_says(journey: tuple[str, Journey], sandbox: Sandbox,
                                                   app_url: str) -> None:
    auth, seen = journey
    token, client_id = seen.token_request, seen.authorize["client_id"]
    names = set(token["form_names"])
    assert "client_secret" not in names or auth == "client_secret_post"
    if auth == "none":
        assert token["client_id"] == client_id and "authorization" not in token["header_names"]
        assert not names & {"client_secret", "client_assertion"}
    elif auth == "client_secret_basic":
        assert token["authorization_scheme"] == "Basic" and token["basic_client_id"] == client_id
        assert not names & {"client_secret", "client_assertion"}
    elif auth == "client_secret_post":
        assert {"client_id", "client_secret"} <= names and "authorization" not in token["header_names"]
    else:
        assert token["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assert "authorization" not in token["header_names"] and "client_secret" not in names
        _check_assertion(token["client_assertion"], client_id, f"{sandbox.ehr_url}oauth/token", app_url)


def _check_assertion(assertion: str, client_id: str, token_url: str, app_url: str) -> None:
    """client-confidential-asymmetric.html#authenticating-to-the-token-endpoint: claims and signature."""
    jwks = requests.get(f"{app_url}/.well-known/jwks.json", timeout=30).json()
    decoded = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=["RS384", "ES384"])
    claims, header = decoded.claims, decoded.header
    assert header["alg"] in ("RS384", "ES384") and header["typ"] == "JWT"
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert claims["iss"] == claims["sub"] == client_id
    assert claims["aud"] == token_url
    assert len(claims["jti"]) >= 16
    assert time.time() - 60 < claims["exp"] <= time.time() + 300
