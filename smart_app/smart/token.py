"""Token requests: https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-access-token.

Plain values in (endpoint, client credentials, grant fields), ``TokenResponse``
or a ``SmartError`` out. Client authentication per SMART 2.2: public (PKCE
only), confidential symmetric (``client_secret_basic`` or ``client_secret_post``,
client-confidential-symmetric.html) and confidential asymmetric
(``private_key_jwt``, client-confidential-asymmetric.html). The request is
built here, not with Authlib's OAuth2Session, because the assertion must be
RS384/ES384 with a fresh ``jti`` and exp ≤ 300 s (see ``client_assertion``).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote_plus

import requests

from smart_app.http_pool import HttpPool
from smart_app.smart.client_assertion import SigningKey, assertion_form
from smart_app.smart.errors import ClientMisconfigured, EndpointUnreachable, TokenInvalid, TokenRefused

logger = logging.getLogger(__name__)

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
BasicEncoding = Literal["form-urlencoded", "raw"]
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
CONTEXT_FIELDS = ("need_patient_banner", "smart_style_url", "tenant", "fhirContext", "intent", "appContext")
MAX_APP_CONTEXT_CHARS = 8192  # CDS Hooks 2.0 §Link: a SMART link's appContext, a string; longer is dropped


@dataclass(frozen=True)
class ClientCredentials:
    """Who the app is at one EHR's token endpoint, and how it proves it."""

    client_id: str
    method: AuthMethod = "none"
    secret: str | None = field(default=None, repr=False)
    signing_key: SigningKey | None = field(default=None, repr=False)
    basic_encoding: BasicEncoding = "form-urlencoded"  # client_secret_basic only: see basic_authorization


@dataclass(frozen=True)
class TokenResponse:
    """What a successful token request returned that the app uses."""

    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime | None
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    patient: str | None = None
    encounter: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # banner, style, tenant, fhirContext


def token_response_from_json(doc: Mapping[str, Any], now: datetime) -> TokenResponse:
    """Validate the token response (RFC 6749 §5.1 plus the SMART launch context)."""
    access_token = doc.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TokenInvalid("The EHR did not issue an access token.")
    if str(doc.get("token_type", "")).lower() != "bearer":
        raise TokenInvalid("The EHR issued a token of a type Second Opinion cannot use.")
    expires_in = doc.get("expires_in")
    lifetime = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 0
    return TokenResponse(
        access_token=access_token,
        scope=doc["scope"] if isinstance(doc.get("scope"), str) else "",
        expires_at=now + timedelta(seconds=lifetime) if lifetime > 0 else None,
        refresh_token=_optional_str(doc, "refresh_token"),
        id_token=_optional_str(doc, "id_token"),
        patient=_fhir_id(doc, "patient"),
        encounter=_fhir_id(doc, "encounter"),
        context={k: doc[k] for k in CONTEXT_FIELDS if k in doc and _context_value_kept(k, doc[k])},
    )


def _context_value_kept(key: str, value: Any) -> bool:
    """``appContext`` only as a bounded string (https://cds-hooks.hl7.org/2.0/#link); others as sent."""
    return key != "appContext" or (isinstance(value, str) and 0 < len(value) <= MAX_APP_CONTEXT_CHARS)


def _optional_str(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) and value else None


def _fhir_id(doc: Mapping[str, Any], key: str) -> str | None:
    """A FHIR id, matched as a whole string (a trailing newline is not an id)."""
    value = _optional_str(doc, key)
    if value is not None and not FHIR_ID.fullmatch(value):
        raise TokenInvalid(f"The EHR sent a {key} id that is not a FHIR id.")
    return value


def exchange_code(
    http: HttpPool, token_url: str, client: ClientCredentials, *,
    code: str, redirect_uri: str, code_verifier: str, now: datetime,
) -> TokenResponse:
    """Trade the authorization code for tokens (SMART 2.2 app-launch §Obtain access token)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier}
    return token_response_from_json(token_request(http, token_url, client, form, now), now)


def refresh(
    http: HttpPool, token_url: str, client: ClientCredentials, *, refresh_token: str, now: datetime
) -> TokenResponse:
    """Use the refresh token once (SMART 2.2 app-launch §Refresh access token)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_response_from_json(token_request(http, token_url, client, form, now), now)


def token_request(
    http: HttpPool, token_url: str, client: ClientCredentials, form: dict[str, str], now: datetime
) -> Mapping[str, Any]:
    """POST the grant with the client's authentication; the JSON answer, or a ``SmartError``."""
    form, headers = _authenticate(dict(form), client, token_url, now)
    try:
        response = http.for_url(token_url).post(
            token_url, data=form, headers={"Accept": "application/json", **headers},
            timeout=http.timeout, allow_redirects=False,
        )
    except requests.RequestException as error:
        logger.warning("token.unreachable error=%s", type(error).__name__)
        raise EndpointUnreachable("The EHR's token endpoint could not be reached.") from error
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if response.status_code != 200 or not isinstance(doc, dict):
        code = doc.get("error") if isinstance(doc, dict) else None
        error_code = code if isinstance(code, str) and re.fullmatch(r"[a-z_]{1,40}", code) else None
        logger.warning("token.refused status=%s error=%s", response.status_code, error_code)
        raise TokenRefused("The EHR's token endpoint refused the request.", error_code,
                           response.status_code)
    return doc


def _authenticate(
    form: dict[str, str], client: ClientCredentials, token_url: str, now: datetime
) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers with the client authentication it names (RFC 6749 §2.3, RFC 7523 §2.2)."""
    if client.method == "none":
        return {**form, "client_id": client.client_id}, {}
    if client.method == "private_key_jwt":
        if client.signing_key is None:
            raise ClientMisconfigured("No signing key is configured for private_key_jwt.")
        assertion = assertion_form(client.signing_key, client_id=client.client_id,
                                   token_url=token_url, now=int(now.timestamp()))
        return {**form, **assertion}, {}
    if not client.secret:
        raise ClientMisconfigured("The client secret is not set.")
    if client.method == "client_secret_basic":
        return form, {"Authorization": basic_authorization(client.client_id, client.secret,
                                                           client.basic_encoding)}
    return {**form, "client_id": client.client_id, "client_secret": client.secret}, {}


def basic_authorization(client_id: str, secret: str, encoding: BasicEncoding) -> str:
    """The ``Authorization: Basic`` value for a confidential symmetric client.

    ``form-urlencoded``: RFC 6749 §2.3.1, id and secret form-encoded first (``:`` is ``%3A``,
    ``+`` is ``%2B``, ``/`` is ``%2F``), which servers that follow it decode. ``raw``: as they
    are, which servers that compare the decoded header with ``id:secret`` expect (Inferno's
    mock). RFC 7617 §2.1: the pair is UTF-8, then base64.
    """
    if encoding == "form-urlencoded":
        client_id, secret = quote_plus(client_id), quote_plus(secret)
    pair = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")
