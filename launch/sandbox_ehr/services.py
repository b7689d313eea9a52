"""The objects the Flask views share, kept on `app.extensions["sandbox"]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import current_app
from joserfc.jwk import RSAKey

from .auth_store import AuthStore
from .config import SandboxSettings
from .token_recorder import TokenRecorder

if TYPE_CHECKING:  # auth_site builds these services
    from .auth_site import AuthSite


@dataclass(frozen=True)
class SandboxServices:
    """Settings, the server's FHIR service, the authorization server, its state and its site."""

    settings: SandboxSettings
    fhir: Any  # sekmet FhirService of the server (EHR or clinic)
    store: AuthStore
    signing_key: RSAKey
    oauth: AuthorizationServer
    tokens_seen: TokenRecorder
    site: AuthSite


def services() -> SandboxServices:
    """The services of the current Flask app."""
    found: SandboxServices = current_app.extensions["sandbox"]
    return found
