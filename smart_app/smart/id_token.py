"""The id_token and its fhirUser claim: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data.

Verified against the EHR's JWKS (OpenID Connect Core §3.1.3.7): signature,
``iss``, ``aud`` = our client_id, ``exp``, ``iat`` and the ``nonce`` we sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart_app.errors import LaunchError
from smart_app.http_pool import HttpPool
from smart_app.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
FHIR_USER_TYPES = ("Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "Person")


@dataclass(frozen=True)
class Identity:
    """Who launched the app, as the EHR vouched for it."""

    subject: str
    fhir_user: str  # absolute or relative URL of a Practitioner, PractitionerRole, …


def identity_from_id_token(
    id_token: str, key_set: KeySet, *, issuer: str, client_id: str, nonce: str, now: float
) -> Identity:
    """Verify the id_token and return its subject and fhirUser."""
    try:
        token = jwt.decode(id_token, key_set, algorithms=ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=60,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as error:
        logger.warning("id_token.invalid error=%s", type(error).__name__)
        raise LaunchError("The EHR's identity token could not be verified.") from error
    return Identity(subject=str(token.claims["sub"]), fhir_user=_fhir_user(token.claims))


def _fhir_user(claims: Mapping[str, Any]) -> str:
    value = claims.get("fhirUser")
    if not isinstance(value, str) or not any(f"{t}/" in value for t in FHIR_USER_TYPES):
        raise LaunchError(
            "The EHR did not say which practitioner you are.",
            "Second Opinion needs the fhirUser claim (scopes openid fhirUser).",
        )
    return value


class KeySets:
    """Fetches and caches the EHRs' JSON Web Key Sets."""

    def __init__(self, http: HttpPool, ttl_seconds: float = 300.0) -> None:
        self._http = http
        self._cache: TtlCache[KeySet] = TtlCache(ttl_seconds)

    def key_set(self, jwks_uri: str) -> KeySet:
        """The key set at ``jwks_uri`` (cached)."""
        return self._cache.get(jwks_uri, self._fetch)

    def _fetch(self, jwks_uri: str) -> KeySet:
        try:
            response = self._http.session_for(jwks_uri).get(jwks_uri, timeout=self._http.timeout)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as error:
            logger.warning("jwks.unavailable error=%s", type(error).__name__)
            raise LaunchError("The EHR's signing keys could not be read.") from error
