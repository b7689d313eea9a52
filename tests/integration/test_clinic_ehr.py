"""The sandbox clinic as its physicians' EHR, over HTTP: front page, EHR launch, its own SMART
authorization server, the scope gateway in front of its FHIR server (launch/README.md).
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.clinic_ehr import (
    CLIENT_ID,
    PHYSICIAN_SCOPE,
    authorize,
    bearer,
    clinic_launch,
    clinic_root,
    code_from,
    discovery,
    exchange,
    physician_token,
    pkce_pair,
    sections,
)
from tests.clinic_referral import deliver
from tests.integration.test_sandbox_server import verified_claims
from tests.sandbox_server import HTTP_TIMEOUT, Sandbox

FHIR_JSON = "application/fhir+json"


def _front_page(sandbox: Sandbox) -> str:
    response = requests.get(f"{clinic_root(sandbox)}/", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]
    return html.unescape(response.text)


def _practitioner(section: str) -> str:
    found = re.search(r'name="practitioner" value="([^"]+)"', section)
    assert found, section
    return found[1]


def test_the_front_page_offers_each_physician_a_launch(sandbox: Sandbox) -> None:
    by_role = {_practitioner(s): s for s in sections(_front_page(sandbox))}
    assert set(by_role) == {"so-1", "so-2", "so-3", "so-4", "so-5", "so-6", "so-10"}  # unrelated clinics only
    assert "Dr. Riley Chen, MD" in by_role["so-1"] and "Summit Occupational Medicine" in by_role["so-1"]
    assert "Dr. Casey Okafor, DO" in by_role["so-2"] and "Mesa Worker Health" in by_role["so-2"]
    assert "Colorado DOWC Level II Accreditation (full)" in by_role["so-1"]
    assert "ended 2025-07-31" in by_role["so-10"]
    assert "Not accredited" in by_role["so-5"]
    for section in by_role.values():
        assert "Launch Second Opinion" in section and 'name="task"' in section
    clinic = sandbox.admin_session(clinic=True)
    orgs = {
        clinic.get(f"{sandbox.clinic_fhir_base}/PractitionerRole/{role}").json()["organization"]["reference"]
        for role in ("so-1", "so-2")
    }
    assert orgs == {"Organization/org-summit", "Organization/org-mesa"}


def test_the_in_basket_lists_each_physicians_referrals(sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-2")
    by_role = {_practitioner(s): s for s in sections(_front_page(sandbox))}
    assert f"Open referral {delivered.task_id} in Second Opinion" in by_role["so-2"]
    assert "Quintana, Rosa" in by_role["so-2"]
    assert delivered.task_id not in by_role["so-1"]


def test_launch_redirects_to_the_app_with_the_clinics_iss(sandbox: Sandbox, app_url: str) -> None:
    for practitioner in ("so-1", "so-1-prac"):
        response = clinic_launch(sandbox, practitioner)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{app_url}/launch"
        query = parse_qs(location.query)
        assert query["iss"] == [sandbox.clinic_fhir_base] and len(query["launch"][0]) >= 40


@pytest.mark.parametrize(
    ("practitioner", "task", "words"),
    [
        ("so-7", "", "Choose one of the clinic's physicians."),  # the ATPs' own clinic: not here
        ("atp-1", "", "Choose one of the clinic's physicians."),
        ("so-1", "no-such-task", "There is no referral Task with this id at the clinic."),
        ("so-1", "../Patient/x", "There is no referral Task with this id at the clinic."),
    ],
)
def test_a_bad_launch_is_refused_in_plain_words(
    sandbox: Sandbox, practitioner: str, task: str, words: str
) -> None:
    response = clinic_launch(sandbox, practitioner, task)
    assert response.status_code == 400 and "Location" not in response.headers
    assert words in html.unescape(response.text)


def test_discovery_is_the_clinics_own(sandbox: Sandbox) -> None:
    root = clinic_root(sandbox)
    config = discovery(sandbox)
    assert requests.get(f"{root}/.well-known/smart-configuration", timeout=HTTP_TIMEOUT).json() == config
    assert config["issuer"] == sandbox.clinic_fhir_base
    assert (config["authorization_endpoint"], config["token_endpoint"], config["jwks_uri"]) == (
        f"{root}/oauth/authorize",
        f"{root}/oauth/token",
        f"{root}/oauth/jwks",
    )
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {
        "launch-ehr",
        "launch-standalone",
        "client-public",
        "sso-openid-connect",
        "permission-user",
        "permission-v1",
        "permission-v2",
    } <= set(config["capabilities"])
    assert "context-ehr-patient" not in config["capabilities"]  # a physician works across patients
    assert "client_credentials" in config["grant_types_supported"]
    assert set(config["token_endpoint_auth_methods_supported"]) == {"none", "private_key_jwt"}


def test_the_physicians_launch_yields_a_token_the_clinic_accepts(sandbox: Sandbox, app_url: str) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-1")
    token = physician_token(sandbox, app_url)
    assert set(token["scope"].split()) == set(PHYSICIAN_SCOPE.split())
    assert token["need_patient_banner"] is False and "patient" not in token and "fhirContext" not in token
    assert token["refresh_token"]  # online_access
    base = sandbox.clinic_fhir_base
    worklist = requests.get(
        f"{base}/Task",
        params={"owner": "PractitionerRole/so-1", "_count": "1000"},  # other tests address so-1 too
        headers=bearer(token),
        timeout=HTTP_TIMEOUT,
    )
    assert worklist.status_code == 200, worklist.text
    assert delivered.task_id in {e["resource"]["id"] for e in worklist.json()["entry"]}
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Task/{delivered.task_id}"}},
            {"request": {"method": "GET", "url": f"ServiceRequest/{delivered.service_request_id}"}},
            {"request": {"method": "GET", "url": f"Patient/{delivered.patient_id}"}},
            {
                "request": {
                    "method": "GET",
                    "url": "PractitionerRole?_id=so-1&_include=PractitionerRole:organization",
                }
            },
        ],
    }
    read = requests.post(
        base, json=batch, headers={**bearer(token), "Content-Type": FHIR_JSON}, timeout=HTTP_TIMEOUT
    )
    assert read.status_code == 200, read.text
    assert [e["response"]["status"][:3] for e in read.json()["entry"]] == ["200"] * 4


def test_the_physicians_token_cannot_write_outside_its_scopes(sandbox: Sandbox, app_url: str) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-1")
    token = physician_token(sandbox, app_url)
    headers, base = {**bearer(token), "Content-Type": FHIR_JSON}, sandbox.clinic_fhir_base
    request = (
        sandbox.admin_session(clinic=True).get(f"{base}/ServiceRequest/{delivered.service_request_id}").json()
    )
    refused = requests.put(
        f"{base}/ServiceRequest/{request['id']}",
        json={**request, "status": "revoked"},
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    in_batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Task/{delivered.task_id}"}},
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    assert requests.post(base, json=in_batch, headers=headers, timeout=HTTP_TIMEOUT).status_code == 403
    task = requests.get(
        f"{base}/Task/{delivered.task_id}", headers=bearer(token), timeout=HTTP_TIMEOUT
    ).json()
    accepted = requests.put(
        f"{base}/Task/{task['id']}",
        json={**task, "status": "accepted"},
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    assert accepted.status_code == 200, accepted.text  # user/Task.rus: the physician may update it


def test_the_id_token_names_the_physician_and_verifies_against_the_clinics_keys(
    sandbox: Sandbox, app_url: str
) -> None:
    token = physician_token(sandbox, app_url, practitioner="so-2")
    jwks = requests.get(discovery(sandbox)["jwks_uri"], timeout=HTTP_TIMEOUT).json()
    claims = verified_claims(token["id_token"], jwks)
    assert claims["iss"] == sandbox.clinic_fhir_base and claims["aud"] == CLIENT_ID
    assert claims["fhirUser"] == f"{sandbox.clinic_fhir_base}/Practitioner/so-2-prac"
    ehr_keys = requests.get(f"{sandbox.ehr_url}oauth/jwks", timeout=HTTP_TIMEOUT).json()
    assert {k["kid"] for k in jwks["keys"]}.isdisjoint(k["kid"] for k in ehr_keys["keys"])  # its own key


def test_a_clinic_token_is_no_good_at_the_ehr(sandbox: Sandbox, app_url: str) -> None:
    token = physician_token(sandbox, app_url)
    response = requests.get(
        f"{sandbox.fhir_base}/Practitioner/atp-1", headers=bearer(token), timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 401


def test_a_launch_that_names_a_task_carries_it_as_fhir_context(sandbox: Sandbox, app_url: str) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-1")
    token = physician_token(sandbox, app_url, task=delivered.task_id)
    assert token["fhirContext"] == [{"reference": f"Task/{delivered.task_id}"}]
    refreshed = requests.post(
        discovery(sandbox)["token_endpoint"],
        timeout=HTTP_TIMEOUT,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": CLIENT_ID},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["fhirContext"] == token["fhirContext"]


def test_standalone_launch_asks_which_physician_signs_in(sandbox: Sandbox, app_url: str) -> None:
    verifier, challenge = pkce_pair()
    page = authorize(sandbox, app_url, challenge, scope="openid fhirUser user/Task.rs")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Sign in to the sandbox receiving clinic" in text
    assert "Dr. Casey Okafor, DO (Mesa Worker Health)" in text and 'name="patient"' not in text
    assert "Dr. Morgan Avery" not in text  # the ATPs sign in at the EHR
    chosen = requests.post(
        page.url,
        data={"practitioner": "so-2-prac", "decision": "allow"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    token = exchange(sandbox, app_url, code_from(chosen, app_url), verifier)
    jwks = requests.get(discovery(sandbox)["jwks_uri"], timeout=HTTP_TIMEOUT).json()
    assert verified_claims(token["id_token"], jwks)["fhirUser"].endswith("/Practitioner/so-2-prac")


def test_patient_scopes_are_not_granted_at_the_clinic(sandbox: Sandbox, app_url: str) -> None:
    token = physician_token(sandbox, app_url, scope="launch openid fhirUser patient/Task.rs user/Task.rs")
    assert token["scope"].split() == ["launch", "openid", "fhirUser", "user/Task.rs"]
