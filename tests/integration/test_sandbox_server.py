"""Smoke test of the sandbox EHR semantics the app relies on (launch/README.md): sekmet's REST
behaviour, our SMART authorization server, and the scope gateway in front of the EHR.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sandbox_server import HTTP_TIMEOUT, Sandbox

CLIENT_ID = "second-opinion"
FHIR_JSON = "application/fhir+json"
EHR_SCOPE = "launch openid fhirUser offline_access patient/Patient.rs patient/Condition.rs"


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> requests.Session:
    return sandbox.admin_session()


# ---- helpers: the EHR launch as the app performs it (the app itself is never contacted) ----


@dataclass(frozen=True)
class Launcher:
    """Drives the sandbox's launch and authorization endpoints like the app would."""

    sandbox: Sandbox
    app_url: str

    @property
    def redirect_uri(self) -> str:
        return f"{self.app_url}/callback"

    def ehr_launch(self, patient: str = "wc-1") -> tuple[str, str]:
        response = requests.post(f"{self.sandbox.ehr_url}ehr/launch",
                                 data={"practitioner": "atp-1", "patient": patient},
                                 allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{self.app_url}/launch"
        query = parse_qs(location.query)
        return query["iss"][0], query["launch"][0]

    def authorize(self, **params: str) -> requests.Response:
        query = {"response_type": "code", "client_id": CLIENT_ID,
                 "redirect_uri": self.redirect_uri, "scope": EHR_SCOPE,
                 "state": secrets.token_urlsafe(16), "aud": self.sandbox.fhir_base,
                 "code_challenge_method": "S256", **params}
        config = requests.get(f"{self.sandbox.fhir_base}/.well-known/smart-configuration",
                              timeout=HTTP_TIMEOUT).json()
        return requests.get(config["authorization_endpoint"], params=query,
                            allow_redirects=False, timeout=HTTP_TIMEOUT)

    def redirect_query(self, response: requests.Response) -> dict[str, str]:
        assert response.status_code == 302, response.text
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.redirect_uri
        return {k: v[0] for k, v in parse_qs(location.query).items()}

    def exchange(self, code: str, verifier: str) -> requests.Response:
        return requests.post(f"{self.sandbox.ehr_url}oauth/token", timeout=HTTP_TIMEOUT, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "client_id": CLIENT_ID, "code_verifier": verifier})

    def token(self, patient: str = "wc-1", scope: str = EHR_SCOPE) -> dict[str, Any]:
        _, launch = self.ehr_launch(patient)
        verifier, challenge = pkce_pair()
        code = self.redirect_query(self.authorize(launch=launch, scope=scope,
                                                  code_challenge=challenge, nonce="n-123"))["code"]
        response = self.exchange(code, verifier)
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        token: dict[str, Any] = response.json()
        return token


@pytest.fixture(scope="module")
def launcher(sandbox: Sandbox, app_url: str) -> Launcher:
    return Launcher(sandbox, app_url)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}", "Accept": FHIR_JSON}


def verified_claims(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Verify an RS256 JWS against the JWK Set (RFC 7515/7518) and return its claims."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url(header_b64))
    assert header["alg"] == "RS256"
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    numbers = rsa.RSAPublicNumbers(int.from_bytes(b64url(jwk["e"]), "big"),
                                   int.from_bytes(b64url(jwk["n"]), "big"))
    numbers.public_key().verify(b64url(signature_b64), f"{header_b64}.{payload_b64}".encode(),
                                padding.PKCS1v15(), hashes.SHA256())
    claims: dict[str, Any] = json.loads(b64url(payload_b64))
    return claims


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- sekmet REST semantics ---------------------------------------------------------------


def test_conditional_create_with_if_none_exist_creates_once(
        sandbox: Sandbox, admin: requests.Session) -> None:
    system, value = "urn:test:org", str(uuid.uuid4())
    org = {"resourceType": "Organization", "name": "Test org",
           "identifier": [{"system": system, "value": value}]}
    headers = {"If-None-Exist": f"identifier={system}|{value}", "Content-Type": FHIR_JSON}
    first = admin.post(f"{sandbox.fhir_base}/Organization", json=org, headers=headers)
    second = admin.post(f"{sandbox.fhir_base}/Organization", json=org, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    found = admin.get(f"{sandbox.fhir_base}/Organization",
                      params={"identifier": f"{system}|{value}"}).json()
    assert found["total"] == 1


def test_transaction_with_a_bad_entry_writes_nothing(
        sandbox: Sandbox, admin: requests.Session) -> None:
    system, value = "urn:test:patient", str(uuid.uuid4())
    patient = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}]}
    bad = {"resourceType": "Condition", "id": "tx-bad"}  # id/URL mismatch -> 400
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": patient,
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": bad, "request": {"method": "PUT", "url": "Condition/other-id"}}]}
    response = admin.post(sandbox.fhir_base, json=bundle, headers={"Content-Type": FHIR_JSON})
    assert response.status_code >= 400
    assert response.json()["resourceType"] == "OperationOutcome"
    found = admin.get(f"{sandbox.fhir_base}/Patient",
                      params={"identifier": f"{system}|{value}"}).json()
    assert found["total"] == 0


def test_search_pages_through_320_active_conditions(
        sandbox: Sandbox, admin: requests.Session) -> None:
    url: str | None = f"{sandbox.fhir_base}/Condition"
    params: dict[str, str] | None = {"patient": "wc-6", "clinical-status": "active",
                                     "_count": "100"}
    ids: list[str] = []
    pages = 0
    while url:
        page = admin.get(url, params=params).json()
        ids += [e["resource"]["id"] for e in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
        params, pages = None, pages + 1
    assert pages == 4
    assert len(ids) == len(set(ids)) == 320


def test_batch_of_reads_with_include(sandbox: Sandbox, admin: requests.Session) -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/wc-1"}},
        {"request": {"method": "GET", "url": "Coverage?beneficiary=Patient/wc-1"
                                              "&_include=Coverage:payor"}},
        {"request": {"method": "GET", "url": "PractitionerRole?_id=so-1"
                                              "&_include=PractitionerRole:organization"
                                              "&_include=PractitionerRole:practitioner"}}]}
    response = admin.post(sandbox.fhir_base, json=bundle, headers={"Content-Type": FHIR_JSON})
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"][:3] for e in entries] == ["200", "200", "200"]
    coverage = entries[1]["resource"]["entry"]
    assert {e["search"]["mode"] for e in coverage} == {"match", "include"}
    roles = {e["resource"]["resourceType"] for e in entries[2]["resource"]["entry"]}
    assert roles == {"PractitionerRole", "Organization", "Practitioner"}


def test_missing_resource_is_404_operation_outcome(
        sandbox: Sandbox, admin: requests.Session) -> None:
    response = admin.get(f"{sandbox.fhir_base}/Patient/no-such-patient")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_fhir_needs_a_token_but_metadata_is_public(sandbox: Sandbox) -> None:
    denied = requests.get(f"{sandbox.fhir_base}/Patient/wc-1", timeout=HTTP_TIMEOUT)
    assert denied.status_code == 401
    assert denied.json()["resourceType"] == "OperationOutcome"
    forged = requests.get(f"{sandbox.fhir_base}/Patient/wc-1", timeout=HTTP_TIMEOUT,
                          headers={"Authorization": "Bearer not-a-jwt"})
    assert forged.status_code == 401
    metadata = requests.get(f"{sandbox.fhir_base}/metadata", timeout=HTTP_TIMEOUT)
    assert metadata.json()["resourceType"] == "CapabilityStatement"


# ---- SMART authorization server -------------------------------------------------------


def test_discovery_offers_s256_only(sandbox: Sandbox) -> None:
    config = requests.get(f"{sandbox.fhir_base}/.well-known/smart-configuration",
                          timeout=HTTP_TIMEOUT).json()
    assert config["issuer"] == sandbox.fhir_base
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["authorization_endpoint"] == f"{sandbox.ehr_url}oauth/authorize"
    assert "launch-ehr" in config["capabilities"]


def test_ehr_launch_yields_context_and_verifiable_id_token(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token()
    assert token["token_type"] == "Bearer"
    assert token["patient"] == "wc-1"
    assert token["encounter"] == "wc-1-enc-1"
    assert token["need_patient_banner"] is True
    assert token["smart_style_url"] == f"{sandbox.ehr_url}smart-style.json"
    assert set(token["scope"].split()) == set(EHR_SCOPE.split())
    assert "fhirUser" not in token  # an id_token claim in SMART 2.2, not a token field
    jwks = requests.get(f"{sandbox.ehr_url}oauth/jwks", timeout=HTTP_TIMEOUT).json()
    claims = verified_claims(token["id_token"], jwks)
    assert claims["iss"] == sandbox.fhir_base
    assert claims["aud"] == CLIENT_ID
    assert claims["fhirUser"] == f"{sandbox.fhir_base}/Practitioner/atp-1"
    assert claims["nonce"] == "n-123"


def test_access_token_reads_the_patients_chart_in_a_batch(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token()
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient/wc-1"}},
        {"request": {"method": "GET", "url": "Condition?patient=wc-1"}}]}
    response = requests.post(sandbox.fhir_base, json=bundle, timeout=HTTP_TIMEOUT,
                             headers={**bearer(token), "Content-Type": FHIR_JSON})
    assert response.status_code == 200, response.text
    patient, conditions = (e["resource"] for e in response.json()["entry"])
    assert patient["id"] == "wc-1"
    assert conditions["total"] == 2


def test_refresh_token_keeps_the_launch_context(sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token()
    response = requests.post(f"{sandbox.ehr_url}oauth/token", timeout=HTTP_TIMEOUT, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
        "client_id": CLIENT_ID})
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["patient"] == "wc-1"
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_standalone_launch_asks_who_and_for_whom(launcher: Launcher) -> None:
    verifier, challenge = pkce_pair()
    page = launcher.authorize(scope="launch/patient openid fhirUser patient/Condition.rs",
                              code_challenge=challenge)
    assert page.status_code == 200
    assert "Sign in to the sandbox EHR" in page.text
    chosen = requests.post(page.url, data={"practitioner": "atp-2", "patient": "wc-3",
                                           "decision": "allow"},
                           allow_redirects=False, timeout=HTTP_TIMEOUT)
    response = launcher.exchange(launcher.redirect_query(chosen)["code"], verifier)
    assert response.json()["patient"] == "wc-3"


@pytest.mark.parametrize("override", [
    {"code_challenge_method": "plain"},
    {"aud": "http://127.0.0.1:1/fhir"},
    {"launch": "no-such-launch"},
])
def test_bad_authorize_requests_return_invalid_request(
        launcher: Launcher, override: dict[str, str]) -> None:
    _, launch = launcher.ehr_launch()
    _, challenge = pkce_pair()
    params = {"launch": launch, "code_challenge": challenge, "state": "s-1", **override}
    query = launcher.redirect_query(launcher.authorize(**params))
    assert query["error"] == "invalid_request"
    assert query["state"] == "s-1"
    assert "code" not in query


def test_unregistered_redirect_uri_is_never_redirected_to(launcher: Launcher) -> None:
    _, launch = launcher.ehr_launch()
    response = launcher.authorize(launch=launch, code_challenge=pkce_pair()[1],
                                  redirect_uri="http://127.0.0.1:9/evil")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_launch_id_is_single_use(launcher: Launcher) -> None:
    _, launch = launcher.ehr_launch()
    first = launcher.authorize(launch=launch, code_challenge=pkce_pair()[1])
    second = launcher.authorize(launch=launch, code_challenge=pkce_pair()[1])
    assert "code" in launcher.redirect_query(first)
    assert launcher.redirect_query(second)["error"] == "invalid_request"


def test_wrong_pkce_verifier_is_refused(launcher: Launcher) -> None:
    _, launch = launcher.ehr_launch()
    _, challenge = pkce_pair()
    response = launcher.authorize(launch=launch, code_challenge=challenge)
    refused = launcher.exchange(launcher.redirect_query(response)["code"], pkce_pair()[0])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


# ---- scope gateway ----------------------------------------------------------------------


def test_patient_scope_is_limited_to_the_launch_patient(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token(scope="launch patient/Condition.rs")
    own = requests.get(f"{sandbox.fhir_base}/Condition", params={"patient": "wc-1"},
                       headers=bearer(token), timeout=HTTP_TIMEOUT)
    assert own.status_code == 200
    other = requests.get(f"{sandbox.fhir_base}/Condition", params={"patient": "wc-2"},
                         headers=bearer(token), timeout=HTTP_TIMEOUT)
    assert other.status_code == 403
    assert other.json()["issue"][0]["code"] == "forbidden"
    by_id = requests.get(f"{sandbox.fhir_base}/Condition/wc-2-cond-1",
                         headers=bearer(token), timeout=HTTP_TIMEOUT)
    assert by_id.status_code == 403


def test_patient_scope_cannot_reach_others_through_a_batch(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token(scope="launch patient/Condition.rs")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Condition?patient=wc-1"}},
        {"request": {"method": "GET", "url": "Condition?patient=wc-2"}}]}
    response = requests.post(sandbox.fhir_base, json=bundle, timeout=HTTP_TIMEOUT,
                             headers={**bearer(token), "Content-Type": FHIR_JSON})
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_a_binary_is_the_patients_through_its_security_context(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token(scope="launch patient/Binary.r")
    own = requests.get(f"{sandbox.fhir_base}/Binary/wc-1-dr-1-pdf", headers=bearer(token),
                       timeout=HTTP_TIMEOUT)
    assert own.status_code == 200 and own.json()["contentType"] == "application/pdf"
    assert base64.b64decode(own.json()["data"]).startswith(b"%PDF-1.4")
    other = requests.get(f"{sandbox.fhir_base}/Binary/wc-2-dr-1-pdf", headers=bearer(token),
                         timeout=HTTP_TIMEOUT)
    assert other.status_code == 403
    search = requests.get(f"{sandbox.fhir_base}/Binary", headers=bearer(token),
                          timeout=HTTP_TIMEOUT)
    assert search.status_code == 403


def test_read_scope_cannot_create_a_service_request(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token(scope="launch patient/Condition.rs")
    request = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order",
               "subject": {"reference": "Patient/wc-1"}}
    response = requests.post(f"{sandbox.fhir_base}/ServiceRequest", json=request,
                             timeout=HTTP_TIMEOUT,
                             headers={**bearer(token), "Content-Type": FHIR_JSON})
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_patient_write_scope_creates_only_in_the_compartment(
        sandbox: Sandbox, launcher: Launcher) -> None:
    token = launcher.token(scope="launch patient/ServiceRequest.crs")
    headers = {**bearer(token), "Content-Type": FHIR_JSON}
    request = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order"}
    elsewhere = requests.post(f"{sandbox.fhir_base}/ServiceRequest", timeout=HTTP_TIMEOUT,
                              headers=headers,
                              json={**request, "subject": {"reference": "Patient/wc-2"}})
    assert elsewhere.status_code == 403
    own = requests.post(f"{sandbox.fhir_base}/ServiceRequest", timeout=HTTP_TIMEOUT,
                        headers=headers, json={**request, "subject": {"reference": "Patient/wc-1"}})
    assert own.status_code == 201


# ---- receiving clinic --------------------------------------------------------------------


def test_clinic_holds_the_unrelated_clinics_and_hides_sekmets_ui(sandbox: Sandbox) -> None:
    clinic = sandbox.admin_session(clinic=True)
    role = clinic.get(f"{sandbox.clinic_fhir_base}/PractitionerRole/so-1").json()
    assert role["organization"]["reference"] == "Organization/org-summit"
    assert clinic.get(f"{sandbox.clinic_fhir_base}/Organization/org-atp").status_code == 404
    ui = requests.get(f"{sandbox.clinic_fhir_base.removesuffix('/fhir')}/ui",
                      timeout=HTTP_TIMEOUT)
    assert ui.status_code == 404
