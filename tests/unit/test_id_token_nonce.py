"""An id_token's nonce (OpenID Connect Core §3.1.3.7 step 11).

Ours when present, always; missing only where the registration says its server does not
echo it (Inferno's mock authorization server does not).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from smart_app.config import ConfigError, load_registrations
from smart_app.smart.errors import TokenInvalid
from smart_app.smart.id_token import identity_from_id_token

ISS = "https://ehr.example.org/fhir"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
MISSING = object()


def _id_token(nonce: object) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISS, "aud": "so", "sub": "u1", "iat": now, "exp": now + 300,
                              "fhirUser": f"{ISS}/Practitioner/atp-1"}
    if nonce is not MISSING:
        claims["nonce"] = nonce
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY)


def _verify(token: str, required: bool) -> str:
    return identity_from_id_token(token, KeySet([KEY]), issuer=ISS, client_id="so", nonce="n1",
                                  now=time.time(), nonce_required=required).fhir_user


@pytest.mark.parametrize("required", [True, False])
def test_our_nonce_is_accepted(required: bool) -> None:
    assert _verify(_id_token("n1"), required) == f"{ISS}/Practitioner/atp-1"


def test_a_missing_nonce_is_refused_by_default() -> None:
    with pytest.raises(TokenInvalid, match="could not be verified"):
        identity_from_id_token(_id_token(MISSING), KeySet([KEY]), issuer=ISS, client_id="so", nonce="n1",
                               now=time.time())


def test_a_missing_nonce_is_accepted_where_the_server_does_not_echo_it() -> None:
    assert _verify(_id_token(MISSING), required=False) == f"{ISS}/Practitioner/atp-1"


@pytest.mark.parametrize("nonce", ["replayed", "", None, ["n1"], "n1 "])
@pytest.mark.parametrize("required", [True, False])
def test_a_wrong_nonce_is_never_accepted(nonce: object, required: bool) -> None:
    with pytest.raises(TokenInvalid):
        _verify(_id_token(nonce), required)


def _registration(tmp_path: Path, line: str) -> Path:
    (tmp_path / "ehr.toml").write_text(
        f'name = "EHR"\niss = "{ISS}"\nclient_id = "so"\nscopes = "launch openid fhirUser"\n{line}\n')
    return tmp_path


def test_the_registration_says_whether_the_nonce_is_required(tmp_path: Path) -> None:
    [default] = load_registrations(_registration(tmp_path, "")).values()
    assert default.id_token_nonce == "required"
    [lenient] = load_registrations(_registration(tmp_path, 'id_token_nonce = "if-present"')).values()
    assert lenient.id_token_nonce == "if-present"
    with pytest.raises(ConfigError, match="id_token_nonce"):
        load_registrations(_registration(tmp_path, 'id_token_nonce = "never"'))
