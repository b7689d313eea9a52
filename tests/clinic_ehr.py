"""The sandbox clinic as its physicians' EHR: the launch and sign-in as the app performs them.

For tests that need a physician's access token at the clinic, obtained exactly as the app
obtains it (front page launch, discovery, authorize with PKCE S256, token), without the app.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import tomllib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.sandbox_server import HTTP_TIMEOUT, REPO_ROOT, Sandbox

CLIENT_ID = "second-opinion"  # the sandbox's SANDBOX_CLIENT_ID default
_REGISTRATION = tomllib.loads((REPO_ROOT / "launch" / "registrations" / "sandbox-clinic.toml").read_text())
PHYSICIAN_SCOPE = f"{_REGISTRATION['scopes']} {_REGISTRATION['refresh']}"  # as the app asks


def clinic_root(sandbox: Sandbox) -> str:
    """The clinic server's root URL (its front page is at `/`)."""
    return sandbox.clinic_fhir_base.removesuffix("/fhir")


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def clinic_launch(sandbox: Sandbox, practitioner: str = "so-1", task: str = "") -> requests.Response:
    """POST the front page's "Launch Second Opinion" form (not following the redirect)."""
    return requests.post(
        f"{clinic_root(sandbox)}/ehr/launch",
        data={"practitioner": practitioner, "task": task},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )


def launch_id(response: requests.Response) -> str:
    """The `launch` parameter of the redirect to the app."""
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["Location"]).query)["launch"][0]


def discovery(sandbox: Sandbox) -> dict[str, Any]:
    """The clinic's `.well-known/smart-configuration`, where the app reads it."""
    response = requests.get(
        f"{sandbox.clinic_fhir_base}/.well-known/smart-configuration", timeout=HTTP_TIMEOUT
    )
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def authorize(sandbox: Sandbox, app_url: str, challenge: str, **params: str) -> requests.Response:
    """GET the clinic's authorization endpoint as the app's redirect would."""
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{app_url}/callback",
        "scope": PHYSICIAN_SCOPE,
        "state": secrets.token_urlsafe(16),
        "aud": sandbox.clinic_fhir_base,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return requests.get(
        discovery(sandbox)["authorization_endpoint"],
        params=query,
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )


def code_from(response: requests.Response, app_url: str) -> str:
    """The code of the redirect back to the app's callback."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{app_url}/callback"
    query = parse_qs(location.query)
    assert "code" in query, query
    return query["code"][0]


def exchange(sandbox: Sandbox, app_url: str, code: str, verifier: str) -> dict[str, Any]:
    """The token request of a public client."""
    response = requests.post(
        discovery(sandbox)["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{app_url}/callback",
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


def physician_token(
    sandbox: Sandbox, app_url: str, practitioner: str = "so-1", task: str = "", scope: str = PHYSICIAN_SCOPE
) -> dict[str, Any]:
    """The token response of an EHR launch from the clinic's front page."""
    launch = launch_id(clinic_launch(sandbox, practitioner, task))
    verifier, challenge = pkce_pair()
    code = code_from(authorize(sandbox, app_url, challenge, launch=launch, scope=scope), app_url)
    return exchange(sandbox, app_url, code, verifier)


def bearer(token: dict[str, Any]) -> dict[str, str]:
    """Headers for a FHIR request with this token."""
    return {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/fhir+json"}


def sections(html: str) -> list[str]:
    """The front page's physician sections, as HTML."""
    return re.findall(r"<section\b.*?</section>", html, re.S)
