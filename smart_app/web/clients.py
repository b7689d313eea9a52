"""From a registration to the SMART client's plain values, and from its errors to plain words.

``smart_app.smart`` knows nothing of registrations or Flask: this module hands
it a client id, a secret or key and endpoints, and turns its protocol errors
into the app's ``LaunchError`` pages (errors.py).
"""

from __future__ import annotations

import dataclasses

from flask import Flask
from werkzeug.wrappers import Response

from smart_app.config import Registration
from smart_app.errors import LaunchError, error_response
from smart_app.services import services
from smart_app.smart.discovery import SmartConfiguration
from smart_app.smart.errors import (
    ClientMisconfigured,
    EndpointUnreachable,
    SmartError,
    TokenInvalid,
    TokenRefused,
)
from smart_app.smart.token import ClientCredentials

HINT_AGAIN = "Launch Second Opinion again from the patient's chart."
HINT_ADMIN = "Tell your administrator; Second Opinion is not fully configured for this EHR."


def client_credentials(registration: Registration) -> ClientCredentials:
    """The registration's client id and the secret or key its authentication method needs."""
    key = services().keys.current if registration.client_auth == "private_key_jwt" else None
    return ClientCredentials(registration.client_id, registration.client_auth,
                             registration.client_secret, key, registration.client_secret_basic_encoding)


def endpoints(registration: Registration) -> SmartConfiguration:
    """The EHR's discovered configuration with the registration's overrides applied."""
    overrides = {
        name: value
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if (value := getattr(registration, name))
    }
    if registration.authorization_endpoint and registration.token_endpoint:
        return SmartConfiguration(**overrides)
    return dataclasses.replace(services().discovery.configuration(registration.iss), **overrides)


def launch_error(error: SmartError) -> LaunchError:
    """The page a person sees for a protocol error."""
    if isinstance(error, ClientMisconfigured):
        return LaunchError("Second Opinion could not sign in to this EHR.", HINT_ADMIN)
    if isinstance(error, TokenRefused):
        return LaunchError("The EHR refused to finish signing in.", HINT_AGAIN)
    if isinstance(error, EndpointUnreachable):
        return LaunchError("The EHR could not be reached.", "Try again in a moment. " + HINT_AGAIN)
    if isinstance(error, TokenInvalid):
        return LaunchError(error.message, HINT_AGAIN)
    return LaunchError(error.message, HINT_ADMIN)


def register_smart_errors(app: Flask) -> None:
    """Answer every ``SmartError`` that reaches a view as the matching ``LaunchError``."""

    @app.errorhandler(SmartError)
    def _smart_error(error: SmartError) -> Response:
        shown = launch_error(error)
        return error_response(shown.status, shown.code, shown.title, shown.message, shown.hint)
