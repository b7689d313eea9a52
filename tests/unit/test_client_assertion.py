"""The app's client assertion (SMART client-confidential-asymmetric) and its published keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from smart_app.keys import KeyFileError, KeyRing, generate_key_file, signing_key_from_pem
from smart_app.smart.client_assertion import ASSERTION_TYPE, assertion_form, client_assertion

TOKEN_URL = "https://ehr.example/oauth/token"
NOW = 1_800_000_000


def _decode(assertion: str, ring: KeyRing) -> jwt.Token:
    keys = KeySet.import_key_set(ring.jwks())  # type: ignore[arg-type]
    return jwt.decode(assertion, keys, algorithms=["RS384", "ES384"])


@pytest.mark.parametrize(
    ("pem", "alg"),
    [
        (ECKey.generate_key("P-384", private=True).as_pem(private=True), "ES384"),
        (RSAKey.generate_key(2048, private=True).as_pem(private=True), "RS384"),
    ],
)
def test_every_claim_and_header_and_the_signature_against_our_jwks(pem: bytes, alg: str) -> None:
    ring = KeyRing([signing_key_from_pem(pem, "test")])
    key = ring.current
    assert key is not None
    token = _decode(client_assertion(key, client_id="so-app", token_url=TOKEN_URL, now=NOW), ring)
    assert token.header == {"alg": alg, "typ": "JWT", "kid": key.kid}
    claims = token.claims
    assert (claims["iss"], claims["sub"], claims["aud"]) == ("so-app", "so-app", TOKEN_URL)
    assert claims["iat"] == NOW and claims["exp"] == NOW + 300
    assert len(claims["jti"]) >= 32


def test_a_fresh_jti_every_time_and_no_lifetime_past_five_minutes() -> None:
    key = signing_key_from_pem(ECKey.generate_key("P-384", private=True).as_pem(private=True), "t")
    ring = KeyRing([key])
    jtis = {
        _decode(client_assertion(key, client_id="a", token_url=TOKEN_URL, now=NOW), ring).claims["jti"]
        for _ in range(20)
    }
    assert len(jtis) == 20
    with pytest.raises(ValueError):
        client_assertion(key, client_id="a", token_url=TOKEN_URL, now=NOW, lifetime=301)
    form = assertion_form(key, client_id="a", token_url=TOKEN_URL, now=NOW)
    assert form["client_assertion_type"] == ASSERTION_TYPE


def test_the_jwks_publishes_public_halves_only_with_kid_alg_and_use() -> None:
    ring = KeyRing(
        [
            signing_key_from_pem(ECKey.generate_key("P-384", private=True).as_pem(private=True), "a"),
            signing_key_from_pem(RSAKey.generate_key(2048, private=True).as_pem(private=True), "b"),
        ]
    )
    published = ring.jwks()["keys"]
    assert [k["alg"] for k in published] == ["ES384", "RS384"]
    assert all(k["use"] == "sig" and k["kid"] for k in published)
    assert not any(private in k for k in published for private in ("d", "p", "q", "dp", "dq", "qi"))


def test_weak_or_public_or_foreign_keys_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="P-384"):
        signing_key_from_pem(ECKey.generate_key("P-256", private=True).as_pem(private=True), "p256")
    with pytest.raises(KeyFileError, match="public key"):
        signing_key_from_pem(ECKey.generate_key("P-384", private=True).as_pem(private=False), "pub")
    with pytest.raises(KeyFileError, match="not a PEM"):
        signing_key_from_pem(b"hello", "junk")
    with pytest.raises(KeyFileError, match="cannot read"):
        KeyRing.from_files([tmp_path / "missing.pem"])


def test_generated_key_files_are_private_to_their_owner_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "app.pem"
    first = generate_key_file(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert generate_key_file(path).kid == first.kid
