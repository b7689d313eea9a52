"""The EHR's Flask app: front page, SMART discovery and the authorization server."""

from __future__ import annotations

from flask import Flask

from . import chart_page, front_page, oauth_views, smart_config
from .auth_client import sandbox_clients
from .auth_server import AuthConfig, build_server
from .auth_store import AuthStore
from .config import SandboxSettings
from .fhir_servers import FhirServer
from .services import SandboxServices
from .signing_key import load_signing_key
from .token_recorder import TokenRecorder


def create_web_app(settings: SandboxSettings, ehr: FhirServer) -> Flask:
    """Build the Flask app and its authorization server for one EHR server."""
    app = Flask(__name__)
    key = load_signing_key(settings.data_dir)
    config = AuthConfig(
        issuer=settings.fhir_base,
        smart_style_url=f"{settings.ehr_root}/smart-style.json",
        clients=sandbox_clients(
            settings.client_id, settings.app_redirect_uris, settings.app_jwks_url,
            settings.client_secret, settings.backend_client_id,
        ),
        token_url=f"{settings.ehr_root}/oauth/token",
        signing_key=key,
        token_secret=ehr.token_secret,
    )
    store = AuthStore()
    oauth = build_server(app, config, store)
    app.extensions["sandbox"] = SandboxServices(settings, ehr.ctx.service, store, key, oauth,
                                                     TokenRecorder())
    for blueprint in (front_page.bp, oauth_views.bp, smart_config.bp):
        app.register_blueprint(blueprint)
    chart_page.register(app, settings, ehr.ctx.service, ehr.token_secret)  # EHR as CDS client
    return app
