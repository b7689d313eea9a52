"""private_key_jwt client authentication (RFC 7523 §3) as SMART 2.2 asymmetric clients need it.

The assertion must be RS384 or ES384, signed by a key in the client's JWKS
(fetched from its URL), aud = this token endpoint, iss = sub = client_id,
exp at most five minutes ahead, and a ``jti`` never seen before
(client-confidential-asymmetric.html#authenticating-to-the-token-endpoint).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS384", "ES384"]
MAX_LIFETIME = 300


class SeenJtis:
    """jti values of accepted assertions, kept until they expire (replay refused)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def first_use(self, jti: str, expires_at: float) -> bool:
        """True the first time a jti is presented."""
        now = time.time()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen:
                return False
            self._seen[jti] = expires_at
            return True


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """Authlib's RFC 7523 client authentication, held to SMART's rules."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_url: str, jtis: SeenJtis) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.token_url = token_url
        self.jtis = jtis

    def get_audiences(self) -> list[str]:
        """aud must be the token endpoint URL."""
        return [self.token_url]

    def resolve_client_public_key(self, client: Any) -> KeySet:
        """The client's JWKS, read from its registered URL."""
        try:
            response = httpx.get(client.jwks_url, timeout=10)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError, TypeError) as error:
            raise InvalidClientError(description="the client's JWKS could not be read") from error

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Verify with RS384/ES384 only, then the claims."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise InvalidClientError(description="the client assertion does not verify") from error
        self.verify_claims(token.claims)
        claims: dict[str, Any] = token.claims
        return claims

    def verify_claims(self, claims: Any) -> None:
        """RFC 7523 claims (Authlib), then SMART's lifetime and jti rules."""
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp - time.time() > MAX_LIFETIME + self.leeway:
            raise InvalidClientError(description="exp must be at most 300 seconds ahead")
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """Refuse a jti already used."""
        return self.jtis.first_use(str(jti), float(claims["exp"]))
