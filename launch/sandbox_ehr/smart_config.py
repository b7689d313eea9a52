"""SMART discovery: `.well-known/smart-configuration`, listing only what we implement.

https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify

from .services import services

if TYPE_CHECKING:
    from .auth_site import AuthSite

bp = Blueprint("smart_config", __name__)

# the EHR's (the clinic's are in clinic_web.py)
CAPABILITIES = (
    "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "sso-openid-connect",
    "context-banner", "context-style", "context-ehr-patient", "context-ehr-encounter",
    "context-standalone-patient", "permission-offline", "permission-patient",
    "permission-user", "permission-v1", "permission-v2",
)
SCOPES = (
    "openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
    "patient/*.rs", "patient/*.cruds", "patient/*.read", "patient/*.write",
    "user/*.rs", "user/*.cruds", "user/*.read", "user/*.write",
    "system/DocumentReference.c", "system/ServiceRequest.rus", "system/Provenance.c",
)
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")


def smart_configuration(site: AuthSite) -> dict[str, Any]:
    """The discovery document for the site's FHIR base."""
    root = site.root
    return {
        "issuer": site.issuer,
        "jwks_uri": f"{root}/oauth/jwks",
        "authorization_endpoint": f"{root}/oauth/authorize",
        "token_endpoint": site.token_url,
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": _auth_methods(site),
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": list(site.scopes_supported),
        "capabilities": list(site.capabilities),
    }


def _auth_methods(site: AuthSite) -> list[str]:
    """How the site's clients authenticate at the token endpoint, in a fixed order."""
    used = {client.auth_method for client in site.clients.values()}
    return [m for m in AUTH_METHODS if m in used]


@bp.get("/.well-known/smart-configuration")
@bp.get("/fhir/.well-known/smart-configuration")
def well_known() -> Response:
    """Serve the discovery document (cacheable for an hour)."""
    response = jsonify(smart_configuration(services().site))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
