"""The receiving clinic's Flask app: its front page, SMART authorization server and discovery.

The clinic is an EHR for its second-opinion physicians: they EHR-launch the app with
`iss` = the clinic's FHIR base (clinic_front.py), and the app's delivery worker gets its
Backend Services tokens here too. Every answer carries strict security headers: the pages
load nothing but their own stylesheet, send forms only to the clinic and the app, and may
not be framed, sniffed or cached.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.wrappers import Response

from . import clinic_front
from .auth_client import SandboxClient, backend_client
from .auth_site import AuthSite, create_site_app
from .config import SandboxSettings
from .fhir_servers import APP_CLINIC_SCOPES, FhirServer
from .signing_key import load_signing_key

KEY_FILE = "clinic_id_token_key.pem"  # the clinic signs its id_tokens with a key of its own
CAPABILITIES = (
    "launch-ehr", "launch-standalone", "client-public", "sso-openid-connect",
    "context-banner", "context-style", "permission-offline", "permission-online",
    "permission-user", "permission-v1", "permission-v2",
)
SCOPES = (
    "openid", "fhirUser", "launch", "offline_access", "online_access",
    "user/*.rs", "user/*.cruds", "user/*.read", "user/*.write", *APP_CLINIC_SCOPES,
)


def clinic_site(settings: SandboxSettings, clinic: FhirServer) -> AuthSite:
    """The clinic's authorization server: its physicians sign in; no patient context."""
    return AuthSite(
        name="the sandbox receiving clinic",
        root=settings.clinic_root,
        issuer=settings.clinic_fhir_base,
        token_secret=clinic.token_secret,
        clients=clinic_clients(settings),
        signing_key=load_signing_key(settings.data_dir, KEY_FILE),
        practitioners=clinic_front.physician_choices(),
        capabilities=CAPABILITIES,
        scopes_supported=SCOPES,
    )


def clinic_clients(settings: SandboxSettings) -> dict[str, SandboxClient]:
    """The app as a public client (user/ scopes only) and its Backend Services client."""
    clients = [
        SandboxClient(settings.client_id, settings.app_redirect_uris, user_contexts=("user",)),
        backend_client(settings.backend_client_id, settings.app_jwks_url, APP_CLINIC_SCOPES),
    ]
    return {c.client_id: c for c in clients}


def create_clinic_web_app(settings: SandboxSettings, clinic: FhirServer) -> Flask:
    """Build the clinic's Flask app over its FHIR store."""
    app = create_site_app(settings, clinic_site(settings, clinic), clinic.ctx.service,
                          clinic_front.bp)
    policy = _page_policy(app, settings)
    app.after_request(lambda response: _secure_headers(response, policy))
    return app


def _page_policy(app: Flask, settings: SandboxSettings) -> str:
    """CSP: nothing but the pages' inline stylesheet (by hash); forms go to the clinic or the
    app (a form's redirect counts as its target, and launching redirects to the app)."""
    assert app.jinja_loader is not None
    source = app.jinja_loader.get_source(app.jinja_env, "base.html")[0]
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in re.findall(r"<style>(.*?)</style>", source, re.S)
    )
    app_origins = sorted({_origin(url) for url in (settings.app_launch_url,
                                                   *settings.app_redirect_uris)})
    return (f"default-src 'none'; style-src {hashes}; form-action 'self' {' '.join(app_origins)}; "
            "base-uri 'none'; frame-ancestors 'none'")


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _secure_headers(response: Response, policy: str) -> Response:
    """Strict headers on every answer; PHI is never cached (discovery sets its own caching)."""
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
