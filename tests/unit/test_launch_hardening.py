"""Whole-string ids, sealed values, cookie-free pooled sessions and scope styles."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from smart_app.crypto import DataKeyError, DataKeys, new_key_line
from smart_app.http_pool import HttpPool
from smart_app.smart.errors import TokenInvalid
from smart_app.smart.scopes import permits, scopes_for_style, style_for
from smart_app.smart.token import token_response_from_json

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("patient", ["wc-1\n", "wc-1 ", "../wc-1", "wc-1\nX"])
def test_a_patient_id_with_a_trailing_newline_is_not_an_id(patient: str) -> None:
    with pytest.raises(TokenInvalid):
        token_response_from_json({"access_token": "a", "token_type": "Bearer", "patient": patient}, NOW)


def test_sealed_values_open_only_with_their_key() -> None:
    keys = DataKeys.parse(new_key_line("a"))
    sealed = keys.seal("Rivera, Ana")
    assert "Rivera" not in sealed and sealed.startswith("v1.a.") and keys.open(sealed) == "Rivera, Ana"
    assert keys.seal("x") != keys.seal("x")  # a fresh nonce every time
    with pytest.raises(DataKeyError):
        DataKeys.parse(new_key_line("b")).open(sealed)
    with pytest.raises(DataKeyError):
        keys.open(sealed[:-4] + "AAAA")


def test_a_blind_index_matches_equal_values_under_its_key_only() -> None:
    old, new = new_key_line("old"), new_key_line("new")
    keys = DataKeys.parse(old)
    index = keys.blind_index("https://ehr\nPatient/wc-1")
    assert index == keys.blind_index("https://ehr\nPatient/wc-1") and index.startswith("old.")
    assert "wc-1" not in index and index != keys.blind_index("https://ehr\nPatient/wc-2")
    assert index != DataKeys.parse(new_key_line("old")).blind_index("https://ehr\nPatient/wc-1")  # keyed
    rotated = DataKeys.parse(f"{new} {old}")
    assert rotated.blind_index("https://ehr\nPatient/wc-1").startswith("new.")
    assert index in rotated.blind_indexes("https://ehr\nPatient/wc-1")  # rows from before still match


def test_data_keys_must_be_256_bits() -> None:
    with pytest.raises(DataKeyError):
        DataKeys.parse("k:c2hvcnQ=")
    with pytest.raises(DataKeyError):
        DataKeys.parse("")


class _SetsCookies(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = (self.headers.get("Cookie") or "none").encode()
        self.send_response(200)
        self.send_header("Set-Cookie", "ehr_session=user-a; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def cookie_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SetsCookies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_no_cookie_crosses_users_of_a_pooled_session(cookie_server: str) -> None:
    pool = HttpPool(5)
    first = pool.for_url(cookie_server).get(f"{cookie_server}/a", timeout=5)
    second = pool.for_url(cookie_server).get(f"{cookie_server}/b", timeout=5)
    assert (first.text, second.text) == ("none", "none")
    pool.close()


def test_scopes_are_sent_in_the_ehr_syntax() -> None:
    wanted = "launch patient/Condition.rs patient/ServiceRequest.crs"
    assert style_for(frozenset({"permission-v2"}), "auto") == "v2"
    assert style_for(frozenset({"permission-v2"}), "v1") == "v1"
    assert scopes_for_style(wanted, "v1") == (
        "launch patient/Condition.read patient/ServiceRequest.read patient/ServiceRequest.write"
    )
    assert permits("patient/ServiceRequest.write", "ServiceRequest", "c")
    assert not permits("patient/ServiceRequest.rs", "ServiceRequest", "c")


def test_pooled_sessions_read_proxies_and_the_ca_bundle_once_per_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.setenv("NO_PROXY", "ehr.internal.example.org")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/clinic-ca.pem")
    pool = HttpPool(5)
    outside = pool.for_url("https://fhir.epic.example.com/api/FHIR/R4")
    inside = pool.for_url("https://ehr.internal.example.org/fhir")
    assert outside.proxies.get("https") == "http://proxy.example.org:3128"
    assert not inside.proxies.get("https")  # NO_PROXY holds for its origin
    assert outside.verify == inside.verify == "/etc/ssl/clinic-ca.pem"
    assert not outside.trust_env  # nothing more is read from the environment per request (no ~/.netrc)
