"""Asymmetric client authentication: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html.

The app proves who it is with a JWT it signs itself (RFC 7523 §2.2): RS384 or
ES384, header ``typ`` JWT and ``kid``; claims iss = sub = client_id, aud = the
token URL, ``exp`` at most five minutes ahead and a fresh ``jti`` every time.
Authlib's ``PrivateKeyJWT`` defaults to RS256 with a one-hour expiry and reuses
``jti`` when given claims, so the assertion is signed here with joserfc.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME_SECONDS = 300  # SMART: "exp … no more than five minutes in the future"

Algorithm = Literal["RS384", "ES384"]


@dataclass(frozen=True)
class SigningKey:
    """A private key the app signs with, its key id and the algorithm its type implies."""

    key: RSAKey | ECKey
    kid: str
    alg: Algorithm


def client_assertion(
    signing_key: SigningKey, *, client_id: str, token_url: str, now: int, lifetime: int = 300
) -> str:
    """A signed ``client_assertion`` for one token request (never reused: fresh ``jti``)."""
    if not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        raise ValueError("an assertion lives at most 300 seconds")
    header = {"alg": signing_key.alg, "typ": "JWT", "kid": signing_key.kid}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(header, claims, signing_key.key, algorithms=[signing_key.alg])


def assertion_form(signing_key: SigningKey, *, client_id: str, token_url: str, now: int) -> dict[str, str]:
    """The two form fields that carry the assertion in a token request (RFC 7523 §2.2)."""
    return {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(
            signing_key, client_id=client_id, token_url=token_url, now=now
        ),
    }
