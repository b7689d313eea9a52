"""Calling the app's CDS services the way the sandbox EHR does, for tests and the benchmark.

The JWT is signed with the sandbox's own CDS key (read from its data directory), so the app
trusts it exactly as it trusts the sandbox; prefetch is read from the sandbox's FHIR server.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.sandbox_server import Sandbox

PATIENT_VIEW = "second-opinion-stuck-case"
ORDER_SELECT = "second-opinion-instead-of-ime"
TIMEOUT = 10


def sandbox_key(sandbox: Sandbox) -> ECKey:
    """The sandbox's CDS signing key, with the kid it publishes."""
    assert sandbox.data_dir is not None
    key = ECKey.import_key((sandbox.data_dir / "cds_client_key.pem").read_bytes())
    return ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})


def signed_jwt(sandbox: Sandbox, aud: str, key: ECKey | None = None, **changes: Any) -> str:
    """A CDS Hooks JWT as the sandbox signs it; ``changes`` replace claims (None removes one)."""
    key = key or sandbox_key(sandbox)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": sandbox.ehr_url.rstrip("/"),
        "aud": aud,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
    }
    claims = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    header = {"alg": "ES384", "typ": "JWT", "kid": str(key.kid)}
    return jwt.encode(header, claims, key, algorithms=["ES384"])


def prefetch(sandbox: Sandbox, templates: dict[str, str], patient: str) -> dict[str, Any]:
    """Every template read from the sandbox's FHIR server (as its chart page fills them)."""
    admin = sandbox.admin_session()
    out: dict[str, Any] = {}
    for key, template in templates.items():
        path, _, query = template.replace("{{context.patientId}}", patient).partition("?")
        response = admin.get(f"{sandbox.fhir_base}/{path}", params=parse_qsl(query))
        response.raise_for_status()
        body = response.json()
        body.pop("link", None)
        out[key] = body if body.get("entry") or body.get("resourceType") != "Bundle" else None
    return out


def templates(app_url: str, service_id: str) -> dict[str, str]:
    """The prefetch templates the discovery document gives this service."""
    services = requests.get(f"{app_url}/cds-services", timeout=TIMEOUT).json()["services"]
    found: dict[str, str] = next(s for s in services if s["id"] == service_id)["prefetch"]
    return found


def hook_body(hook: str, patient: str, **fields: Any) -> dict[str, Any]:
    """A hook request for atp-1 on this patient."""
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/atp-1", "patientId": patient, **fields.pop("context", {})},
        **fields,
    }


def call(app_url: str, service_id: str, body: Any, token: str | None) -> requests.Response:
    """POST a hook call (with ``Authorization: Bearer token`` unless token is None)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{app_url}/cds-services/{service_id}"
    if isinstance(body, (bytes, str)):
        return requests.post(
            url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=TIMEOUT
        )
    return requests.post(url, json=body, headers=headers, timeout=TIMEOUT)
