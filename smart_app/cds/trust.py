"""Trusting CDS clients: https://cds-hooks.hl7.org/2.0/#trusting-cds-clients.

Every hook call carries ``Authorization: Bearer <JWT>`` signed by the CDS client (an EHR
registration names its ``cds_client_iss`` and ``cds_jwks_uri``). The JWT must be ES384 or
RS384 (never ``none``, never HMAC: §JWT Signing Algorithm), name a key (``kid``) of that
client's JWK Set, carry the registered ``iss``, ``aud`` = the endpoint called, ``exp``
at most five minutes ahead, ``iat`` and a ``jti`` never seen before. A ``jku`` header is
accepted only when it is the registered JWKS URL: the service never fetches keys a token names.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from smart_app.cds.errors import CdsUnauthorized
from smart_app.cds.records import SeenJti, seen_jti, spend_jti
from smart_app.config import Registration
from smart_app.smart.errors import SmartError
from smart_app.smart.id_token import KeySets
from smart_app.store import Base, Store

logger = logging.getLogger(__name__)

ALGORITHMS = ["ES384", "RS384"]  # CDS Hooks 2.0 recommends both; asymmetric only
MAX_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 60
MAX_JWT_CHARS = 8192
_REFUSED = "Second Opinion could not verify the CDS client's JWT."


@dataclass(frozen=True)
class TrustedCall:
    """A call whose JWT verified; its ``jti`` is spent with what the call records (``finish``)."""

    registration: Registration
    jti: SeenJti


def finish(store: Store, call: TrustedCall, rows: Sequence[Base], now: datetime) -> None:
    """Spend the call's jti and keep its rows at once; a jti seen before is a replay: 401, nothing kept."""
    if not spend_jti(store, call.jti, list(rows), now):
        raise _refused("replayed-jti")


def trusted_client(
    authorization: str | None,
    endpoint: str,
    registrations: Iterable[Registration],
    key_sets: KeySets,
    now: datetime,
) -> TrustedCall:
    """The verified call of a registered CDS client, or CdsUnauthorized (logged by reason only)."""
    token = _bearer(authorization)
    header, claims = _unverified(token)
    registration = next(
        (r for r in registrations if r.cds_client_iss and r.cds_client_iss == claims.get("iss")), None
    )
    if registration is None or registration.cds_jwks_uri is None:
        raise _refused("unknown-iss")
    if (
        header.get("alg") not in ALGORITHMS
        or header.get("typ") != "JWT"
        or not isinstance(header.get("kid"), str)
    ):
        raise _refused("header")
    if "jku" in header and header["jku"] != registration.cds_jwks_uri:
        raise _refused("jku")
    _verify(token, registration, key_sets, endpoint, now)
    expires = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo) + timedelta(seconds=LEEWAY_SECONDS)
    return TrustedCall(registration, seen_jti(str(claims["iss"]), str(claims["jti"]), expires))


def _verify(token: str, registration: Registration, key_sets: KeySets, endpoint: str, now: datetime) -> None:
    """Signature against the client's JWKS, then the claims."""
    assert registration.cds_jwks_uri is not None and registration.cds_client_iss is not None
    try:
        keys = key_sets.key_set(registration.cds_jwks_uri)
    except SmartError as error:
        raise _refused("jwks-unavailable") from error
    try:
        verified = jwt.decode(token, keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": registration.cds_client_iss},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(verified.claims)
    except (JoseError, ValueError) as error:
        raise _refused(type(error).__name__) from error
    claims = verified.claims
    audience = claims.get("aud")
    if not (audience == endpoint or (isinstance(audience, list) and endpoint in audience)):
        raise _refused("aud")
    if int(claims["exp"]) > now.timestamp() + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise _refused("exp-too-far")
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 256:
        raise _refused("jti")


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refused("no-jwt")
    if len(token) > MAX_JWT_CHARS:
        raise _refused("too-long")
    return token.strip()


def _unverified(token: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Header and claims before the signature is checked: only to find whose keys to check it with."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _refused("not-a-jws")
    try:
        header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
    except ValueError as error:
        raise _refused("not-a-jws") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _refused("not-a-jws")
    return header, claims


def _refused(reason: str) -> CdsUnauthorized:
    logger.warning("cds.refused reason=%s", reason)
    return CdsUnauthorized(_REFUSED, "The EHR must sign each call with its registered key (CDS Hooks 2.0).")
