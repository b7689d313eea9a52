"""SMART Backend Services: https://hl7.org/fhir/smart-app-launch/backend-services.html.

The app asks a server's token endpoint for a ``system/`` access token with the
``client_credentials`` grant, authenticating with a ``private_key_jwt`` assertion
(``client_assertion.py``: RS384/ES384, fresh ``jti``, exp ≤ 300 s). Tokens are
cached until shortly before they expire (backend-services.html#access-token-response:
"the client SHOULD reuse the token until it is near expiry"). Protocol only: the
errors say whether trying again later can help, and the caller decides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from smart_app.smart.client_assertion import SigningKey, assertion_form

logger = logging.getLogger(__name__)

EARLY_RENEWAL_SECONDS = 60  # a token is renewed this long before the server says it expires
DEFAULT_LIFETIME_SECONDS = 300  # when the server omits expires_in


class BackendTokenError(Exception):
    """The token endpoint did not give a token; ``transient`` says whether a retry can help."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class BackendClient:
    """Who asks (client id and key) for which scopes at which FHIR server."""

    fhir_base: str
    client_id: str
    scopes: str
    key: SigningKey


@dataclass(frozen=True)
class _Cached:
    token: str
    renew_at: float


class BackendTokens:
    """Fetches and caches Backend Services access tokens, one per (server, client, scopes)."""

    def __init__(
        self,
        session_for: Callable[[str], requests.Session],
        timeout: float,
        clock: Callable[[], float] = time.time,  # for the cache; assertions use the wall clock
    ) -> None:
        self._session_for = session_for
        self._timeout = timeout
        self._clock = clock
        self._cache: dict[tuple[str, str, str], _Cached] = {}
        self._token_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def token(self, client: BackendClient) -> str:
        """A valid access token: the cached one, else a new one from the token endpoint."""
        key = (client.fhir_base, client.client_id, client.scopes)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached.renew_at > self._clock():
            return cached.token
        token, lifetime = self._request_token(client)
        renew_at = self._clock() + max(lifetime - EARLY_RENEWAL_SECONDS, lifetime / 2)
        with self._lock:
            self._cache[key] = _Cached(token, renew_at)
        return token

    def forget(self, client: BackendClient) -> None:
        """Drop the cached token (the server refused it: 401)."""
        with self._lock:
            self._cache.pop((client.fhir_base, client.client_id, client.scopes), None)

    def token_url(self, fhir_base: str) -> str:
        """The token endpoint from ``{base}/.well-known/smart-configuration`` (cached)."""
        with self._lock:
            found = self._token_urls.get(fhir_base)
        if found:
            return found
        doc = self._json("GET", f"{fhir_base}/.well-known/smart-configuration", None)
        url = doc.get("token_endpoint")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise BackendTokenError("The server does not advertise a token endpoint.", transient=False)
        with self._lock:
            self._token_urls[fhir_base] = url
        return url

    def _request_token(self, client: BackendClient) -> tuple[str, float]:
        """POST the client_credentials grant (backend-services.html#request-an-access-token)."""
        token_url = self.token_url(client.fhir_base)
        form = {
            "grant_type": "client_credentials",
            "scope": client.scopes,
            **assertion_form(
                client.key, client_id=client.client_id, token_url=token_url, now=int(time.time())
            ),
        }
        doc = self._json("POST", token_url, form)
        token = doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise BackendTokenError("The token endpoint answered without a token.", transient=True)
        lifetime = doc.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 0.0
        logger.info("backend_token.issued client=%s", client.client_id)
        return token, seconds or DEFAULT_LIFETIME_SECONDS

    def _json(self, method: str, url: str, form: Mapping[str, str] | None) -> dict[str, Any]:
        try:
            response = self._session_for(url).request(
                method, url, data=form, headers={"Accept": "application/json"}, timeout=self._timeout
            )
        except requests.RequestException as error:
            raise BackendTokenError("The server could not be reached.", transient=True) from error
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise BackendTokenError(
                "The server had a problem answering.",
                transient=True,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 400:
            logger.info("backend_token.refused status=%s", status)
            raise BackendTokenError(_refusal(response), transient=False)
        try:
            body = response.json()
        except ValueError as error:
            raise BackendTokenError("The server's answer could not be read.", transient=True) from error
        if not isinstance(body, dict):
            raise BackendTokenError("The server's answer could not be read.", transient=True)
        return body


def _refusal(response: requests.Response) -> str:
    """Plain words for an OAuth error (RFC 6749 §5.2); the server's description is not repeated."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if error == "invalid_client":
        return "The server did not accept Second Opinion's credentials (its signed key)."
    if error == "invalid_scope":
        return "The server does not allow Second Opinion the access it needs."
    return "The server refused to give Second Opinion access."


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110 §10.2.3): delay-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true, and float("²") fails
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
