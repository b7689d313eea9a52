"""The SMART authorization server, assembled from Authlib's server components.

Authorization code + PKCE S256 (RFC 6749 §4.1, RFC 7636), refresh with rotation (RFC 6749 §6),
client_credentials for Backend Services, public / symmetric / private_key_jwt clients, OpenID
Connect id_token, and SMART launch context in the token response
(https://hl7.org/fhir/smart-app-launch/app-launch.html#response-5).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, OAuth2Request
from authlib.oauth2.rfc6749.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from flask import Flask
from joserfc.jwk import RSAKey

from .auth_assertion import PrivateKeyJwt, SeenJtis
from .auth_client import SandboxClient
from .auth_store import REFRESH_TTL, AuthorizationCode, AuthStore, LaunchContext, RefreshToken

ACCESS_TOKEN_TTL = 3600
BACKEND_TOKEN_TTL = 300
REFRESH_SCOPES = ("offline_access", "online_access")
USER_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass(frozen=True)
class AuthConfig:
    """What the grants need to know about the sandbox."""

    issuer: str  # = the FHIR base (SMART: iss of the id_token, aud of access tokens)
    smart_style_url: str
    clients: dict[str, SandboxClient]
    token_url: str
    signing_key: RSAKey
    token_secret: Callable[[], str]


def build_server(app: Flask, config: AuthConfig, store: AuthStore) -> AuthorizationServer:
    """An Authlib AuthorizationServer with our grants, extensions and token generator."""
    server = AuthorizationServer(
        app,
        query_client=config.clients.get,
        save_token=lambda token, request: _save_refresh(store, token, request),
    )
    assertion = PrivateKeyJwt(config.token_url, SeenJtis())
    server.register_client_auth_method("private_key_jwt", assertion)
    server.register_token_generator("default", _token_generator(config))
    code_grant = _code_grant_class(config, store)
    server.register_grant(code_grant, [S256Challenge(required=True), SmartOpenIDCode(config),
                                       LaunchContextExtension(config), FhirContextExtension()])
    server.register_grant(_refresh_grant_class(store), [LaunchContextExtension(config),
                                                         FhirContextExtension()])
    server.register_grant(BackendGrant)
    return server


class BackendGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """SMART Backend Services: client_credentials, private_key_jwt only (backend-services.html)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_token_request(self) -> None:
        """Refuse with invalid_scope when no requested scope is allowed (RFC 6749 §5.2)."""
        super().validate_token_request()
        if not self.request.client.get_allowed_scope(self.request.payload.scope):
            raise InvalidScopeError("none of the requested scopes is allowed for this client")


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only and always required (SMART 2.2 §App Protection; RFC 7636 §4.3)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Refuse a missing challenge or any method but S256 with invalid_request."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("code_challenge is required (PKCE S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class SmartOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """id_token: RS256 with kid, iss = FHIR base, aud = client_id, fhirUser claim."""

    def __init__(self, config: AuthConfig) -> None:
        super().__init__(require_nonce=False)
        self.config = config

    def resolve_client_private_key(self, client: Any) -> RSAKey:
        """The sandbox signing key."""
        return self.config.signing_key

    def get_client_algorithm(self, client: Any) -> str:
        """RS256, as advertised in the JWKS."""
        return "RS256"

    def get_encode_header(self, client: Any) -> dict[str, str]:
        """JWS header naming the key."""
        return {"alg": "RS256", "kid": str(self.config.signing_key.kid), "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        """iss, aud (the client_id, a string), exp."""
        return {"iss": self.config.issuer, "aud": client.client_id,
                "exp": int(time.time()) + ACCESS_TOKEN_TTL}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """Nonces are not tracked: replay protection is the client's job here."""
        return False

    def generate_user_info(self, user: LaunchContext, scope: str) -> dict[str, str]:
        """sub, and fhirUser as an absolute Practitioner URL when `fhirUser` was granted."""
        info = {"sub": user.practitioner}
        if "fhirUser" in scope.split():
            info["fhirUser"] = f"{self.config.issuer}/Practitioner/{user.practitioner}"
        return info


class LaunchContextExtension:
    """Adds SMART launch context to token responses (app-launch.html#response-5)."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config

    def __call__(self, grant: Any) -> None:
        """Register on the grant's token-response hook."""
        grant.register_hook("after_create_token_response", self.add_context)

    def add_context(self, grant: Any, response: tuple[int, dict[str, Any], Any]) -> None:
        """patient, encounter, need_patient_banner, smart_style_url and a CDS link's appContext."""
        token, context = response[1], grant.request.user
        if context is None:
            return
        if context.patient:
            token["patient"] = context.patient
        if context.encounter:
            token["encounter"] = context.encounter
        token["need_patient_banner"] = context.need_patient_banner
        token["smart_style_url"] = self.config.smart_style_url
        if context.app_context:  # CDS Hooks 2.0 §Link: appContext goes with the access token
            token["appContext"] = context.app_context


class FhirContextExtension:
    """Adds `fhirContext` when the launch was about resources, e.g. a Task to open
    (SMART 2.2 app-launch.html#fhircontext)."""

    def __call__(self, grant: Any) -> None:
        """Register on the grant's token-response hook."""
        grant.register_hook("after_create_token_response", self.add_context)

    def add_context(self, grant: Any, response: tuple[int, dict[str, Any], Any]) -> None:
        """One `{"reference": …}` per resource the launch named."""
        context: LaunchContext | None = grant.request.user
        if context is not None and context.fhir_context:
            response[1]["fhirContext"] = [{"reference": ref} for ref in context.fhir_context]


def _code_grant_class(config: AuthConfig, store: AuthStore) -> type[AuthorizationCodeGrant]:
    """AuthorizationCodeGrant for a public client with SMART's aud and launch checks."""

    class SmartCodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = USER_AUTH_METHODS

        def validate_authorization_request(self) -> str:
            redirect_uri: str = super().validate_authorization_request()
            _check_smart_params(self.request, config.issuer, store, redirect_uri)
            return redirect_uri

        def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
            store.save_code(_code_from_request(code, request))

        def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
            return store.take_code(code, client.client_id)

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            return None  # already spent by query_authorization_code

        def authenticate_user(self, authorization_code: AuthorizationCode) -> LaunchContext:
            return authorization_code.context

    return SmartCodeGrant


def _refresh_grant_class(store: AuthStore) -> type[RefreshTokenGrant]:
    """RefreshTokenGrant for a public client, rotating the refresh token."""

    class SmartRefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS = USER_AUTH_METHODS
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
            return store.take_refresh(refresh_token)

        def authenticate_user(self, refresh_token: RefreshToken) -> LaunchContext:
            return refresh_token.context

        def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
            return None  # already spent by authenticate_refresh_token

    return SmartRefreshGrant


def _check_smart_params(
    request: OAuth2Request, issuer: str, store: AuthStore, redirect_uri: str
) -> None:
    """SMART: `aud` must be the FHIR base; a `launch` must be known and unexpired."""
    data = request.payload.data
    if data.get("aud") != issuer:
        raise InvalidRequestError("aud must be the FHIR base URL of this server",
                                  redirect_uri=redirect_uri)
    launch = data.get("launch")
    if launch and store.peek_launch(launch) is None:
        raise InvalidRequestError("Unknown or expired launch", redirect_uri=redirect_uri)


def _code_from_request(code: str, request: OAuth2Request) -> AuthorizationCode:
    """The code record: client, redirect, granted scope, PKCE challenge, nonce, context."""
    data = request.payload.data
    return AuthorizationCode(
        code=code,
        client_id=request.client.client_id,
        redirect_uri=request.payload.redirect_uri,
        scope=" ".join(s for s in (request.scope or "").split() if s not in request.user.withhold),
        context=request.user,
        code_challenge=data["code_challenge"],
        code_challenge_method=data["code_challenge_method"],
        nonce=data.get("nonce"),
    )


def _token_generator(config: AuthConfig) -> Callable[..., dict[str, Any]]:
    """Bearer tokens whose access_token is an HS256 JWT that sekmet verifies."""

    def generate(grant_type: str, client: Any, user: LaunchContext | None = None,
                 scope: str | None = None, expires_in: int | None = None,
                 include_refresh_token: bool = True) -> dict[str, Any]:
        if user is None:  # client_credentials: the backend client acts as itself
            granted = client.get_allowed_scope(scope)
            return {"token_type": "Bearer", "scope": granted, "expires_in": BACKEND_TOKEN_TTL,
                    "access_token": _backend_token(config, client.client_id, granted)}
        granted = scope or ""
        ttl = user.token_ttl or ACCESS_TOKEN_TTL
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": _access_token(config, client.client_id, user, granted, ttl),
            "expires_in": ttl,
            "scope": granted,
        }
        if include_refresh_token and any(s in granted.split() for s in REFRESH_SCOPES):
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    return generate


def _backend_token(config: AuthConfig, client_id: str, scope: str) -> str:
    """A system access token: sub = the client, no patient, five minutes."""
    now = int(time.time())
    claims = {"iss": config.issuer.removesuffix("/fhir"), "aud": config.issuer, "sub": client_id,
              "client_id": client_id, "scope": scope, "iat": now, "exp": now + BACKEND_TOKEN_TTL,
              "jti": secrets.token_hex(16)}
    return jwt.encode(claims, config.token_secret(), algorithm="HS256")


def _access_token(
    config: AuthConfig, client_id: str, user: LaunchContext, scope: str, ttl: int
) -> str:
    """The access-token JWT: aud = FHIR base exactly (sekmet checks it), 1 h unless asked less."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer.removesuffix("/fhir"),
        "aud": config.issuer,
        "sub": user.practitioner,
        "client_id": client_id,
        "scope": scope,
        "fhirUser": f"{config.issuer}/Practitioner/{user.practitioner}",
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_hex(16),
    }
    if user.patient:
        claims["patient"] = user.patient
    return jwt.encode(claims, config.token_secret(), algorithm="HS256")


def _save_refresh(store: AuthStore, token: dict[str, Any], request: OAuth2Request) -> None:
    """Keep the refresh token (if any) with its client, scope and launch context."""
    if "refresh_token" in token:
        context: LaunchContext = request.user
        lifetime = context.refresh_ttl if context.refresh_ttl is not None else REFRESH_TTL
        store.save_refresh(RefreshToken(token["refresh_token"], request.client.client_id,
                                        token["scope"], context, time.time() + lifetime))
