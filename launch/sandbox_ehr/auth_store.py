"""Authorization-server state: launches, authorization codes and refresh tokens.

Kept in memory, in dicts guarded by one lock: the sandbox is a single process, and a restart
simply invalidates pending launches, codes and refresh tokens (access tokens are JWTs and
outlive a restart). Every lookup that spends a credential removes it atomically.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

LAUNCH_TTL = 600  # SMART EHR launch id: short-lived, single use
CODE_TTL = 600  # RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes"
REFRESH_TTL = 30 * 24 * 3600


@dataclass(frozen=True)
class LaunchContext:
    """Who launched for whom: the authorization's "user" as Authlib sees it."""

    practitioner: str
    patient: str | None = None
    encounter: str | None = None
    token_ttl: int | None = None  # test option: access tokens this short-lived
    refresh_ttl: int | None = None  # test option: refresh tokens this short-lived
    need_patient_banner: bool = True  # test option: false = the EHR shows its own banner
    withhold: tuple[str, ...] = ()  # test option: scopes the EHR user declines (narrowed grant)
    fhir_context: tuple[str, ...] = ()  # references the launch is about, e.g. ("Task/abc",)
    app_context: str | None = None  # a CDS card's SMART link appContext, returned with the token


@dataclass(frozen=True)
class AuthorizationCode:
    """An issued code with what the token request must match (Authlib's code model)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    context: LaunchContext
    code_challenge: str
    code_challenge_method: str
    nonce: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))
    expires_at: float = field(default_factory=lambda: time.time() + CODE_TTL)

    def get_redirect_uri(self) -> str:
        """The redirect_uri the code was issued for."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scope."""
        return self.scope

    def get_nonce(self) -> str | None:
        """OIDC nonce to echo in the id_token."""
        return self.nonce

    def get_auth_time(self) -> int:
        """When the user authorized."""
        return self.auth_time

    def get_acr(self) -> None:
        """No authentication context class."""
        return None

    def get_amr(self) -> None:
        """No authentication methods reference."""
        return None


@dataclass(frozen=True)
class RefreshToken:
    """A refresh token bound to its client, scope and launch context."""

    token: str
    client_id: str
    scope: str
    context: LaunchContext
    expires_at: float = field(default_factory=lambda: time.time() + REFRESH_TTL)

    def get_scope(self) -> str:
        """The scope originally granted."""
        return self.scope

    def check_client(self, client: object) -> bool:
        """Only the client it was issued to may use it."""
        return getattr(client, "client_id", None) == self.client_id


class AuthStore:
    """Thread-safe in-memory store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._launches: dict[str, tuple[LaunchContext, float]] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._refresh: dict[str, RefreshToken] = {}

    def create_launch(self, context: LaunchContext) -> str:
        """Register an EHR launch and return its opaque id (256 bits)."""
        launch_id = secrets.token_urlsafe(32)
        with self._lock:
            self._prune()
            self._launches[launch_id] = (context, time.time() + LAUNCH_TTL)
        return launch_id

    def peek_launch(self, launch_id: str) -> LaunchContext | None:
        """The launch's context if it exists and has not expired."""
        with self._lock:
            entry = self._launches.get(launch_id)
        return entry[0] if entry and entry[1] > time.time() else None

    def take_launch(self, launch_id: str) -> LaunchContext | None:
        """Spend a launch id (single use)."""
        with self._lock:
            entry = self._launches.pop(launch_id, None)
        return entry[0] if entry and entry[1] > time.time() else None

    def save_code(self, code: AuthorizationCode) -> None:
        """Keep an issued authorization code."""
        with self._lock:
            self._prune()
            self._codes[code.code] = code

    def take_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """Spend a code issued to this client (RFC 6749 §4.1.2: use once)."""
        with self._lock:
            item = self._codes.pop(code, None)
        if item is None or item.client_id != client_id or item.expires_at < time.time():
            return None
        return item

    def revoke_refresh(self, practitioner: str) -> int:
        """Sign-out: every refresh token of this practitioner stops working."""
        with self._lock:
            kept = {k: v for k, v in self._refresh.items()
                    if v.context.practitioner != practitioner}
            revoked, self._refresh = len(self._refresh) - len(kept), kept
        return revoked

    def save_refresh(self, token: RefreshToken) -> None:
        """Keep an issued refresh token."""
        with self._lock:
            self._refresh[token.token] = token

    def take_refresh(self, token: str) -> RefreshToken | None:
        """Spend a refresh token; the grant issues a new one (rotation)."""
        with self._lock:
            item = self._refresh.pop(token, None)
        return item if item and item.expires_at > time.time() else None

    def _prune(self) -> None:
        """Drop expired launches and codes (caller holds the lock)."""
        now = time.time()
        self._launches = {k: v for k, v in self._launches.items() if v[1] > now}
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now}
