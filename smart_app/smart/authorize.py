"""The authorization request: https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code.

State is ≥128 bits, one-time and kept server-side; PKCE is always S256
(RFC 7636 §4.2); ``aud`` is the iss exactly.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from smart_app.smart.discovery import SmartConfiguration


@dataclass(frozen=True)
class AuthorizationRequest:
    """The one-time secrets of a launch, and the URL that carries the public half."""

    state: str
    code_verifier: str
    nonce: str
    url: str


def s256_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(
    config: SmartConfiguration,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    aud: str,
    launch: str | None,
) -> AuthorizationRequest:
    """Draw fresh state, verifier and nonce, and build the authorize URL."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43..128
    nonce = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": aud,
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
        "nonce": nonce,
    }
    if launch is not None:
        params["launch"] = launch
    return AuthorizationRequest(
        state, verifier, nonce, _with_query(config.authorization_endpoint, params)
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
