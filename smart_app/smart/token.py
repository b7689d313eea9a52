"""The token request and its launch context: https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token.

The token response carries the launch context (SMART 2.2
scopes-and-launch-context §launch context arrives with your access_token);
``fhirUser`` is not among it: it is a claim of the id_token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests

from smart_app.config import Registration
from smart_app.errors import LaunchError
from smart_app.http_pool import HttpPool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenResponse:
    """What a successful token request returned that the app uses."""

    access_token: str
    scope: str
    expires_at: datetime | None
    refresh_token: str | None = None
    id_token: str | None = None
    patient: str | None = None
    encounter: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # banner, style, tenant, fhirContext


CONTEXT_FIELDS = ("need_patient_banner", "smart_style_url", "tenant", "fhirContext", "intent")


def token_response_from_json(doc: Mapping[str, Any], now: datetime) -> TokenResponse:
    """Validate the token response (RFC 6749 §5.1 plus the SMART launch context)."""
    access_token = doc.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise LaunchError("The EHR did not issue an access token.")
    if str(doc.get("token_type", "")).lower() != "bearer":
        raise LaunchError("The EHR issued a token of a type Second Opinion cannot use.")
    expires_in = doc.get("expires_in")
    expires_at = now + timedelta(seconds=expires_in) if isinstance(expires_in, int) else None
    return TokenResponse(
        access_token=access_token,
        scope=doc["scope"] if isinstance(doc.get("scope"), str) else "",
        expires_at=expires_at,
        refresh_token=_optional_str(doc, "refresh_token"),
        id_token=_optional_str(doc, "id_token"),
        patient=_optional_str(doc, "patient"),
        encounter=_optional_str(doc, "encounter"),
        context={k: doc[k] for k in CONTEXT_FIELDS if k in doc},
    )


def _optional_str(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value else None


def exchange_code(
    http: HttpPool,
    token_endpoint: str,
    registration: Registration,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    now: datetime,
) -> TokenResponse:
    """Trade the authorization code for tokens, authenticating as the registration says."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    auth: tuple[str, str] | None = None
    secret = registration.client_secret
    if registration.client_auth == "none":
        form["client_id"] = registration.client_id
    elif secret is None:
        raise LaunchError(
            "Second Opinion is not fully configured for this EHR.",
            "Its client secret is missing; tell your administrator.",
        )
    elif registration.client_auth == "client_secret_basic":
        auth = (registration.client_id, secret)
    else:
        form.update(client_id=registration.client_id, client_secret=secret)
    return token_response_from_json(_post(http, token_endpoint, form, auth), now)


def _post(
    http: HttpPool, url: str, form: dict[str, str], auth: tuple[str, str] | None
) -> Mapping[str, Any]:
    try:
        response = http.session_for(url).post(
            url, data=form, auth=auth, headers={"Accept": "application/json"}, timeout=http.timeout
        )
    except requests.RequestException as error:
        logger.warning("token.unreachable error=%s", type(error).__name__)
        raise LaunchError("The EHR could not be reached to finish signing in.") from error
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if response.status_code != 200 or not isinstance(doc, dict):
        error_code = doc.get("error") if isinstance(doc, dict) else None
        logger.warning("token.refused status=%s error=%s", response.status_code, error_code)
        raise LaunchError(
            "The EHR refused to finish signing in.",
            "Launch Second Opinion again from the patient's chart.",
        )
    return doc
