"""The id_token and its fhirUser claim: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data.

Verified against the EHR's JWKS (OpenID Connect Core §3.1.3.7): signature,
``iss``, ``aud`` = our client_id, ``exp``, ``iat`` and the ``nonce`` we sent. A
``nonce`` that is present must always be ours; one that is missing is refused unless
the caller says this server does not echo it (``nonce_required=False``; Inferno's mock
server is one): the code it came with was bound to this launch by PKCE already.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from smart_app.http_pool import HttpPool
from smart_app.smart.errors import EndpointUnreachable, TokenInvalid
from smart_app.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
PRACTITIONER_TYPES = ("Practitioner", "PractitionerRole")
_USER = re.compile(r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})")


@dataclass(frozen=True)
class Identity:
    """Who launched the app, as the EHR vouched for it."""

    subject: str
    fhir_user: str  # absolute or relative URL of a Practitioner, PractitionerRole, …


def identity_from_id_token(
    id_token: str, key_set: KeySet, *, issuer: str, client_id: str, nonce: str, now: float,
    nonce_required: bool = True,
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
        )
        registry.validate(token.claims)
        _check_nonce(token.claims, nonce, nonce_required)
    except (JoseError, ValueError) as error:
        logger.warning("id_token.invalid error=%s", type(error).__name__)
        raise TokenInvalid("The EHR's identity token could not be verified.") from error
    return Identity(subject=str(token.claims["sub"]), fhir_user=_fhir_user(token.claims))


def _check_nonce(claims: Mapping[str, Any], nonce: str, required: bool) -> None:
    """Present: exactly the string we sent (joserfc accepts a list holding it). Missing: if allowed."""
    if "nonce" not in claims and not required:
        return
    if not nonce or claims.get("nonce") != nonce:
        raise ValueError("the id_token's nonce is not the one sent")


def _fhir_user(claims: Mapping[str, Any]) -> str:
    value = claims.get("fhirUser")
    if not isinstance(value, str) or not value:
        raise UserNotSupported("The identity token has no fhirUser claim.")
    return value


class UserNotSupported(TokenInvalid):
    """The fhirUser is missing, on another server, or not a practitioner."""


def practitioner_reference(fhir_user: str, fhir_base: str) -> str:
    """``Practitioner/id`` or ``PractitionerRole/id`` on the launch's own FHIR server, else refused.

    fhirUser is "an absolute URL ... or relative to the FHIR server base URL"
    (scopes-and-launch-context.html#scopes-for-requesting-fhiruser); absolute
    ones must sit on the launch's server, so another server cannot name the requester.
    """
    base = fhir_base.rstrip("/") + "/"
    relative = fhir_user.removeprefix(base) if fhir_user.startswith(base) else fhir_user
    match = _USER.fullmatch(relative)
    if match is None:
        raise UserNotSupported("The fhirUser is not a resource on this EHR's FHIR server.")
    if match["type"] not in PRACTITIONER_TYPES:
        raise UserNotSupported(f"The fhirUser is a {match['type']}, not a practitioner.")
    return relative


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
            response = self._http.for_url(jwks_uri).get(jwks_uri, timeout=self._http.timeout)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as error:
            logger.warning("jwks.unavailable error=%s", type(error).__name__)
            raise EndpointUnreachable("The EHR's signing keys could not be read.") from error
