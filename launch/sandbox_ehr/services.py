"""The objects the Flask views share, kept on `app.extensions["sandbox"]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import current_app
from joserfc.jwk import RSAKey

from .auth_store import AuthStore
from .config import SandboxSettings
from .token_recorder import TokenRecorder


@dataclass(frozen=True)
class SandboxServices:
    """Settings, the EHR's FHIR service, the authorization server and its state."""

    settings: SandboxSettings
    fhir: Any  # sekmet FhirService of the EHR
    store: AuthStore
    signing_key: RSAKey
    oauth: AuthorizationServer
    tokens_seen: TokenRecorder


def services() -> SandboxServices:
    """The services of the current Flask app."""
    found: SandboxServices = current_app.extensions["sandbox"]
    return found
