"""One FHIR server's SMART authorization server, its discovery document and its front page.

The EHR and the receiving clinic each get one (`create_site_app`): the issuer is that
server's FHIR base, access tokens are signed with that server's sekmet secret, and each has
its own clients, its own id_token key and its own people who may sign in.
https://hl7.org/fhir/smart-app-launch/app-launch.html
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask
from joserfc.jwk import RSAKey

from . import oauth_views, smart_config
from .auth_client import SandboxClient
from .auth_server import AuthConfig, build_server
from .auth_store import AuthStore
from .config import SandboxSettings
from .services import SandboxServices
from .token_recorder import TokenRecorder

Choices = tuple[tuple[str, str], ...]  # (id, label) for a sign-in page's list


@dataclass(frozen=True)
class AuthSite:
    """What one server's authorization server and discovery document say and trust."""

    name: str  # who the sign-in page says you sign in to, e.g. "the sandbox EHR"
    root: str  # the server's root URL: /oauth/* and /smart-style.json live here
    issuer: str  # the FHIR base: `iss` of the id_token, `aud` of the access tokens
    token_secret: Callable[[], str]  # the HS256 secret this server's sekmet verifies with
    clients: dict[str, SandboxClient]
    signing_key: RSAKey
    practitioners: Choices  # (Practitioner id, label): who may sign in (standalone launch)
    capabilities: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    patients: Choices = ()  # whom a standalone launch may open; () = no patient context

    @property
    def token_url(self) -> str:
        """The token endpoint (also the `aud` of client assertions)."""
        return f"{self.root}/oauth/token"

    def auth_config(self) -> AuthConfig:
        """What the grants need."""
        return AuthConfig(issuer=self.issuer, smart_style_url=f"{self.root}/smart-style.json",
                          clients=self.clients, token_url=self.token_url,
                          signing_key=self.signing_key, token_secret=self.token_secret)


def create_site_app(settings: SandboxSettings, site: AuthSite, fhir: Any, pages: Blueprint
                    ) -> Flask:
    """A Flask app with the site's front page, authorization server and discovery document."""
    app = Flask(__name__)
    store = AuthStore()
    oauth = build_server(app, site.auth_config(), store)
    app.extensions["sandbox"] = SandboxServices(settings, fhir, store, site.signing_key, oauth,
                                                TokenRecorder(), site)
    for blueprint in (pages, oauth_views.bp, smart_config.bp):
        app.register_blueprint(blueprint)
    return app
