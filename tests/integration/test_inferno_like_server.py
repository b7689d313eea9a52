"""Against an authorization server that behaves like Inferno's mock, over HTTP on 127.0.0.1.

Inferno's SMART App Launch client suite serves no ``jwks_uri`` in its SMART configuration
(only in its OpenID configuration), issues id_tokens without ``nonce`` and compares a
symmetric client's Basic header raw. Each of those stopped the launch at the callback;
with the registration saying so, an EHR launch through it reaches the compose page and sends.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from smart_app import create_app
from smart_app.config import Settings
from smart_app.http_pool import HttpPool
from smart_app.smart.discovery import Discovery
from smart_app.smart.errors import DiscoveryFailed, TokenRefused
from smart_app.smart.token import BasicEncoding, ClientCredentials, token_request
from tests.inferno_mock import BasicReading, InfernoLikeServer, inferno_like_server
from tests.pages import referral_form
from tests.sandbox_server import REPO_ROOT, Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

CLIENT_ID = "inferno-client"
RESERVED_SECRET = "s3cr:et+with/reserved=chars%"  # ':', '+' and '/' as the issue names, and two more
PLAIN_SECRET = "unreserved-only_secret.1~"  # the same under either encoding
SECRET_ENV = "SO_TEST_INFERNO_SECRET"
SCOPES = tomllib.loads((REPO_ROOT / "launch" / "registrations" / "sandbox.toml").read_text())["scopes"]


def test_the_jwks_uri_comes_from_the_openid_configuration_and_is_cached() -> None:
    with inferno_like_server(CLIENT_ID, RESERVED_SECRET) as server:
        discovery = Discovery(HttpPool(5.0))
        config = discovery.configuration(server.iss)
        assert config.jwks_uri == f"{server.root}/auth/jwks"
        assert discovery.configuration(server.iss) == config
        assert server.seen.count("GET /fhir/.well-known/openid-configuration") == 1


def test_without_an_openid_configuration_the_jwks_uri_stays_unknown() -> None:
    with inferno_like_server(CLIENT_ID, RESERVED_SECRET, openid_configuration=False) as server:
        assert Discovery(HttpPool(5.0)).configuration(server.iss).jwks_uri is None


def test_an_openid_configuration_for_another_issuer_is_not_used() -> None:
    with inferno_like_server(CLIENT_ID, RESERVED_SECRET, openid_issuer="https://evil.example/fhir") as server:
        with pytest.raises(DiscoveryFailed, match="another issuer"):
            Discovery(HttpPool(5.0)).configuration(server.iss)  # OpenID Connect Discovery §4.3


@pytest.mark.parametrize(
    "encoding, reading, accepted",
    [
        ("form-urlencoded", "decoded", True),  # RFC 6749 §2.3.1 on both sides
        ("raw", "raw", True),  # Inferno: the decoded header must be id:secret exactly
        ("form-urlencoded", "raw", False),  # the server sees s3cr%3Aet%2B…
        ("raw", "decoded", False),  # the server turns '+' into a space
    ],
)
def test_a_secret_with_reserved_characters_needs_the_servers_encoding(
    encoding: BasicEncoding, reading: BasicReading, accepted: bool
) -> None:
    with inferno_like_server(CLIENT_ID, RESERVED_SECRET, basic=reading) as server:
        client = ClientCredentials(CLIENT_ID, "client_secret_basic", RESERVED_SECRET, basic_encoding=encoding)
        if accepted:
            assert _client_credentials_token(server, client)["token_type"] == "Bearer"
        else:
            with pytest.raises(TokenRefused) as refused:
                _client_credentials_token(server, client)
            assert (refused.value.status, refused.value.error) == (401, "invalid_client")


@pytest.mark.parametrize("encoding", ["form-urlencoded", "raw"])
@pytest.mark.parametrize("reading", ["decoded", "raw"])
def test_a_secret_of_unreserved_characters_works_either_way(
    encoding: BasicEncoding, reading: BasicReading
) -> None:
    with inferno_like_server(CLIENT_ID, PLAIN_SECRET, basic=reading) as server:
        client = ClientCredentials(CLIENT_ID, "client_secret_basic", PLAIN_SECRET, basic_encoding=encoding)
        assert _client_credentials_token(server, client)["token_type"] == "Bearer"


def _client_credentials_token(server: InfernoLikeServer, client: ClientCredentials) -> dict[str, object]:
    form = {"grant_type": "client_credentials", "scope": "system/*.read"}
    return dict(token_request(HttpPool(5.0), f"{server.root}/auth/token", client, form, datetime.now(UTC)))


@pytest.fixture
def inferno_like(sandbox: Sandbox) -> Iterator[InfernoLikeServer]:
    """The mock in front of the sandbox's FHIR server (reads and writes with the sandbox's own token)."""
    token = str(sandbox.admin_session().headers["Authorization"]).removeprefix("Bearer ")
    with inferno_like_server(CLIENT_ID, RESERVED_SECRET, upstream=sandbox.fhir_base,
                             upstream_token=lambda: token) as server:
        yield server


def _app(tmp_path: Path, app_settings: Settings, server: InfernoLikeServer, options: str) -> FlaskClient:
    folder = tmp_path / "registrations"
    folder.mkdir()
    (folder / "inferno-like.toml").write_text(
        f'name = "Inferno-like EHR"\niss = "{server.iss}"\nclient_id = "{CLIENT_ID}"\n'
        f'client_auth = "client_secret_basic"\nclient_secret_env = "{SECRET_ENV}"\n'
        f'scopes = "{SCOPES}"\n{options}'
    )
    settings = app_settings.model_copy(update={"registrations": folder,
                                               "database_url": f"sqlite:///{tmp_path / 'app.sqlite3'}"})
    return create_app(settings).test_client()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _ehr_launch(app: FlaskClient, server: InfernoLikeServer) -> tuple[int, str, str]:
    """The EHR opens /launch; the browser follows to the mock's authorize and back to the callback."""
    to_authorize = app.get("/launch", query_string={"iss": server.iss, "launch": "inferno-launch-1"})
    assert to_authorize.status_code == 302, to_authorize.text
    authorize = server._http.get(to_authorize.headers["Location"], allow_redirects=False, timeout=30)
    assert authorize.status_code == 302, authorize.text
    callback = app.get(_path(authorize.headers["Location"]))
    if callback.status_code != 303:
        return callback.status_code, callback.text, ""
    compose = app.get(_path(callback.headers["Location"]))
    return compose.status_code, compose.text, _path(callback.headers["Location"])


NO_NONCE = 'id_token_nonce = "if-present"'
RAW_BASIC = 'client_secret_basic_encoding = "raw"'


def test_an_ehr_launch_through_an_inferno_like_server_reaches_compose_and_sends(
    tmp_path: Path, app_settings: Settings, sandbox: Sandbox, inferno_like: InfernoLikeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, RESERVED_SECRET)
    app = _app(tmp_path, app_settings, inferno_like, f"{NO_NONCE}\n{RAW_BASIC}\n")
    status, page, compose_path = _ehr_launch(app, inferno_like)
    assert status == 200, page
    assert inferno_like.launches == ["inferno-launch-1"]
    data = referral_form(page)
    sent = app.post(compose_path.replace("/compose", "/referrals"), data=data, follow_redirects=True)
    assert sent.status_code == 200 and "Referral sent" in sent.text, sent.text
    found = sandbox.admin_session().get(
        f"{sandbox.fhir_base}/ServiceRequest",
        params={"identifier": f"{app_settings.namespace}/sid/referral|{data['referral_id']}"},
    ).json()
    [entry] = found["entry"]
    assert entry["resource"]["requester"]["reference"] == "Practitioner/atp-1"
    assert entry["resource"]["subject"]["reference"] == "Patient/wc-1"


@pytest.mark.parametrize(
    "options, words",
    [
        (RAW_BASIC, "identity token could not be verified"),  # no nonce, and the registration requires it
        (NO_NONCE, "refused to finish signing in"),  # the secret form-encoded: invalid_client
    ],
    ids=["nonce-required", "secret-form-encoded"],
)
def test_without_the_registrations_settings_the_launch_stops_at_the_callback(
    tmp_path: Path, app_settings: Settings, inferno_like: InfernoLikeServer,
    monkeypatch: pytest.MonkeyPatch, options: str, words: str,
) -> None:
    monkeypatch.setenv(SECRET_ENV, RESERVED_SECRET)
    app = _app(tmp_path, app_settings, inferno_like, f"{options}\n")
    status, page, _ = _ehr_launch(app, inferno_like)
    assert status in (400, 401, 502) and words in page, (status, page)
