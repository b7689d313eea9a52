"""The SMART client's pure parts: PKCE, scopes, discovery documents, token responses, id_tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from smart_app.smart.authorize import authorization_request, s256_challenge
from smart_app.smart.discovery import (
    smart_configuration_from_capability_statement,
    smart_configuration_from_json,
)
from smart_app.smart.errors import SmartError
from smart_app.smart.id_token import UserNotSupported, identity_from_id_token, practitioner_reference
from smart_app.smart.scopes import parse_scope, permits
from smart_app.smart.token import token_response_from_json

ISS = "https://ehr.example.org/fhir"
WELL_KNOWN = {
    "issuer": ISS,
    "authorization_endpoint": "https://ehr.example.org/oauth/authorize",
    "token_endpoint": "https://ehr.example.org/oauth/token",
    "jwks_uri": "https://ehr.example.org/oauth/jwks",
    "capabilities": ["launch-ehr", "sso-openid-connect"],
    "code_challenge_methods_supported": ["S256"],
}


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_authorization_request_carries_every_smart_parameter() -> None:
    config = smart_configuration_from_json(WELL_KNOWN, ISS)
    request = authorization_request(
        config,
        client_id="so",
        redirect_uri="https://app/cb",
        scope="launch openid",
        aud=ISS,
        launch="xyz",
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "so",
        "redirect_uri": "https://app/cb",
        "scope": "launch openid",
        "state": request.state,
        "aud": ISS,
        "launch": "xyz",
        "code_challenge": s256_challenge(request.code_verifier),
        "code_challenge_method": "S256",
        "nonce": request.nonce,
    }
    assert len(request.state) >= 43  # 32 random bytes: at least 128 bits
    assert 43 <= len(request.code_verifier) <= 128


def test_two_requests_never_share_state_or_verifier() -> None:
    config = smart_configuration_from_json(WELL_KNOWN, ISS)
    one, two = (
        authorization_request(
            config,
            client_id="so",
            redirect_uri="https://app/cb",
            scope="launch",
            aud=ISS,
            launch="l",
        )
        for _ in range(2)
    )
    assert one.state != two.state and one.code_verifier != two.code_verifier


def test_discovery_refuses_an_ehr_without_s256() -> None:
    with pytest.raises(SmartError, match="S256"):
        smart_configuration_from_json(
            {**WELL_KNOWN, "code_challenge_methods_supported": ["plain"]}, ISS
        )


def test_discovery_refuses_plain_http_endpoints_for_a_remote_ehr() -> None:
    doc = {**WELL_KNOWN, "token_endpoint": "http://ehr.example.org/oauth/token"}
    with pytest.raises(SmartError, match="not secure"):
        smart_configuration_from_json(doc, ISS)


def test_discovery_allows_http_on_loopback_only() -> None:
    local = "http://127.0.0.1:8001/fhir"
    doc = {
        "authorization_endpoint": "http://127.0.0.1:8001/a",
        "token_endpoint": "http://127.0.0.1:8001/t",
    }
    assert smart_configuration_from_json(doc, local).token_endpoint.endswith("/t")


def test_discovery_falls_back_to_the_oauth_uris_extension() -> None:
    statement = {
        "rest": [
            {
                "security": {
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": "https://ehr.example.org/auth"},
                                {"url": "token", "valueUri": "https://ehr.example.org/token"},
                            ],
                        }
                    ]
                }
            }
        ]
    }
    config = smart_configuration_from_capability_statement(statement, ISS)
    assert (config.authorization_endpoint, config.token_endpoint) == (
        "https://ehr.example.org/auth",
        "https://ehr.example.org/token",
    )


@pytest.mark.parametrize(
    "scope, expected",
    [
        ("patient/Condition.rs", ("patient", "Condition", "rs")),
        ("user/*.cruds", ("user", "*", "cruds")),
        ("patient/Observation.rs?category=laboratory", ("patient", "Observation", "rs")),
        ("patient/Condition.read", ("patient", "Condition", "rs")),
        ("user/Patient.write", ("user", "Patient", "cud")),
        ("system/*.*", ("system", "*", "cruds")),
    ],
)
def test_scopes_v1_and_v2_parse(scope: str, expected: tuple[str, str, str]) -> None:
    parsed = parse_scope(scope)
    assert parsed is not None
    assert (parsed.context, parsed.resource_type, parsed.permissions) == (
        expected[0],
        expected[1],
        frozenset(expected[2]),
    )


@pytest.mark.parametrize(
    "scope", ["openid", "launch", "launch/patient", "fhirUser", "patient/Condition.x"]
)
def test_non_clinical_scopes_are_not_resource_scopes(scope: str) -> None:
    assert parse_scope(scope) is None


def test_permits_reads_the_granted_scope_string() -> None:
    granted = "launch openid patient/Condition.rs patient/ServiceRequest.crs"
    assert permits(granted, "ServiceRequest", "c")
    assert not permits(granted, "ServiceRequest", "d")
    assert not permits(granted, "Coverage", "r")


def test_token_response_keeps_the_launch_context() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    token = token_response_from_json(
        {
            "access_token": "a",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "launch",
            "patient": "wc-1",
            "encounter": "e1",
            "id_token": "x.y.z",
            "need_patient_banner": True,
            "smart_style_url": "https://ehr/style.json",
            "unexpected": "ignored",
        },
        now,
    )
    assert (token.patient, token.encounter, token.expires_at) == (
        "wc-1",
        "e1",
        datetime(2026, 11, 22, 1, tzinfo=UTC),
    )
    assert token.context == {
        "need_patient_banner": True,
        "smart_style_url": "https://ehr/style.json",
    }


@pytest.mark.parametrize(
    "doc", [{}, {"access_token": "a", "token_type": "mac"}, {"access_token": ""}]
)
def test_token_response_without_a_bearer_token_is_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(SmartError):
        token_response_from_json(doc, datetime(2026, 1, 1, tzinfo=UTC))


KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([KEY])


def _id_token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": "so",
        "sub": "u1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n1",
        "fhirUser": f"{ISS}/Practitioner/atp-1",
        **overrides,
    }
    return jwt.encode(
        {"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, KEY
    )


def test_id_token_yields_fhir_user() -> None:
    identity = identity_from_id_token(
        _id_token(), KEYS, issuer=ISS, client_id="so", nonce="n1", now=time.time()
    )
    assert identity.fhir_user == f"{ISS}/Practitioner/atp-1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example.org"},
        {"nonce": "replayed"},
        {"exp": int(time.time()) - 3600},
        {"fhirUser": None},
    ],
)
def test_id_token_is_refused_when_a_claim_is_wrong(overrides: dict[str, Any]) -> None:
    with pytest.raises(SmartError):
        identity_from_id_token(
            _id_token(**overrides), KEYS, issuer=ISS, client_id="so", nonce="n1", now=time.time()
        )


def test_id_token_signed_by_another_key_is_refused() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = jwt.encode(
        {"alg": "RS256", "kid": "k1"},
        {
            "iss": ISS,
            "aud": "so",
            "sub": "u",
            "exp": int(time.time()) + 60,
            "nonce": "n1",
            "fhirUser": "Practitioner/x",
        },
        other,
    )
    with pytest.raises(SmartError):
        identity_from_id_token(
            forged, KEYS, issuer=ISS, client_id="so", nonce="n1", now=time.time()
        )


@pytest.mark.parametrize(
    "fhir_user",
    [
        "http://evil.example/fhir/Practitioner/x",  # signed, but on another server
        f"{ISS}/Patient/wc-1",
        f"{ISS}/RelatedPerson/r1",
        "Device/1",
        f"{ISS}/Practitioner/atp-1\n",  # a trailing newline is not an id
        f"{ISS}/Practitioner/",
        "not a reference",
    ],
)
def test_fhir_user_must_be_a_practitioner_on_the_launch_server(fhir_user: str) -> None:
    with pytest.raises(UserNotSupported):
        practitioner_reference(fhir_user, ISS)


def test_fhir_user_absolute_or_relative_on_the_launch_server() -> None:
    assert practitioner_reference(f"{ISS}/Practitioner/atp-1", ISS) == "Practitioner/atp-1"
    assert practitioner_reference("PractitionerRole/r-1", ISS) == "PractitionerRole/r-1"
