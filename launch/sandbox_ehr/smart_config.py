"""SMART discovery: `.well-known/smart-configuration`, listing only what we implement.

https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from .config import SandboxSettings
from .services import services

bp = Blueprint("smart_config", __name__)

CAPABILITIES = [
    "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "sso-openid-connect",
    "context-banner", "context-style", "context-ehr-patient", "context-ehr-encounter",
    "context-standalone-patient", "permission-offline", "permission-patient",
    "permission-user", "permission-v1", "permission-v2",
]
SCOPES = [
    "openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
    "patient/*.rs", "patient/*.cruds", "patient/*.read", "patient/*.write",
    "user/*.rs", "user/*.cruds", "user/*.read", "user/*.write",
    "system/DocumentReference.c", "system/ServiceRequest.rus", "system/Provenance.c",
]


def smart_configuration(settings: SandboxSettings) -> dict[str, Any]:
    """The discovery document for the EHR's FHIR base."""
    root = settings.ehr_root
    return {
        "issuer": settings.fhir_base,
        "jwks_uri": f"{root}/oauth/jwks",
        "authorization_endpoint": f"{root}/oauth/authorize",
        "token_endpoint": f"{root}/oauth/token",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none", "client_secret_basic", "client_secret_post", "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": SCOPES,
        "capabilities": CAPABILITIES,
    }


@bp.get("/.well-known/smart-configuration")
@bp.get("/fhir/.well-known/smart-configuration")
def well_known() -> Response:
    """Serve the discovery document (cacheable for an hour)."""
    response = jsonify(smart_configuration(services().settings))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
