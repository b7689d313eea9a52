"""The EHR's Flask app: front page, SMART discovery and the authorization server."""

from __future__ import annotations

from flask import Flask

from . import chart_page, front_page, smart_config
from .auth_client import BACKEND_SCOPES, sandbox_clients
from .auth_site import AuthSite, create_site_app
from .config import SandboxSettings
from .fhir_servers import FhirServer
from .signing_key import load_signing_key


def ehr_site(settings: SandboxSettings, ehr: FhirServer) -> AuthSite:
    """The EHR's authorization server: the ATPs sign in, for one of the seeded patients."""
    return AuthSite(
        name="the sandbox EHR",
        root=settings.ehr_root,
        issuer=settings.fhir_base,
        token_secret=ehr.token_secret,
        clients=sandbox_clients(
            settings.client_id, settings.app_redirect_uris, settings.app_jwks_url,
            settings.client_secret, settings.backend_client_id, BACKEND_SCOPES,
        ),
        signing_key=load_signing_key(settings.data_dir),
        practitioners=tuple(front_page.practitioner_choices()),
        patients=tuple(front_page.patient_choices()),
        capabilities=smart_config.CAPABILITIES,
        scopes_supported=smart_config.SCOPES,
    )


def create_web_app(settings: SandboxSettings, ehr: FhirServer) -> Flask:
    """Build the Flask app and its authorization server for the EHR server, and its CDS client."""
    app = create_site_app(settings, ehr_site(settings, ehr), ehr.ctx.service, front_page.bp)
    chart_page.register(app, settings, ehr.ctx.service, ehr.token_secret)  # EHR as CDS client
    return app
