"""The apps registered with the sandbox's authorization server, one per SMART client type.

SMART App Launch 2.2: client-public (PKCE only), client-confidential-symmetric
(client_secret_basic / client_secret_post) and client-confidential-asymmetric
(private_key_jwt, keys at the app's JWKS URL); plus a Backend Services client
(client_credentials with private_key_jwt, system/ scopes only):
https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from .scopes import covers, is_grantable

# non-clinical scopes an app may be granted (scopes-and-launch-context.html)
CONTEXT_SCOPES = frozenset({
    "openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
    "offline_access", "online_access",
})
# what the EHR's backend client may be granted (grant only what is asked and allowed)
BACKEND_SCOPES = ("system/DocumentReference.c", "system/ServiceRequest.rus", "system/Provenance.c")
USER_GRANTS = ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class SandboxClient:
    """Authlib ClientMixin for one registered app."""

    client_id: str
    redirect_uris: tuple[str, ...] = ()
    auth_method: str = "none"  # none | client_secret_basic | client_secret_post | private_key_jwt
    secret: str | None = field(default=None, repr=False)
    jwks_url: str | None = None
    grant_types: tuple[str, ...] = USER_GRANTS
    backend_scopes: tuple[str, ...] = ()  # client_credentials: the most it may be granted
    user_contexts: tuple[str, ...] = ("patient", "user")  # clinical scopes a user app may get

    def get_client_id(self) -> str:
        """The client_id."""
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: SMART apps must always send redirect_uri."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Granted = the requested scopes that are allowed (apps: their clinical contexts;
        backend: those its system/ scopes cover)."""
        requested = (scope or "").split()
        if self.grant_types == ("client_credentials",):
            return " ".join(s for s in requested
                            if any(covers(allowed, s) for allowed in self.backend_scopes))
        return " ".join(s for s in requested
                        if s in CONTEXT_SCOPES or is_grantable(s, self.user_contexts))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match against a registered URI (RFC 6749 §3.1.2.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time comparison with the registered secret (symmetric clients only)."""
        if self.secret is None:  # compare_digest raises TypeError on a str that is not ASCII: bytes
            return False
        given = client_secret.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(self.secret.encode(), given)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Each client authenticates only the way it was registered."""
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        """Only the authorization code flow."""
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        """The grants this client was registered for."""
        return grant_type in self.grant_types


def sandbox_clients(
    client_id: str, redirect_uris: tuple[str, ...], jwks_url: str, secret: str, backend_id: str,
    backend_scopes: tuple[str, ...],
) -> dict[str, SandboxClient]:
    """The EHR's: the public app, its confidential twins and the backend client, by client_id."""
    clients = [
        SandboxClient(client_id, redirect_uris),
        SandboxClient(f"{client_id}-basic", redirect_uris, "client_secret_basic", secret),
        SandboxClient(f"{client_id}-post", redirect_uris, "client_secret_post", secret),
        SandboxClient(f"{client_id}-jwt", redirect_uris, "private_key_jwt", jwks_url=jwks_url),
        backend_client(backend_id, jwks_url, backend_scopes),
    ]
    return {c.client_id: c for c in clients}


def backend_client(client_id: str, jwks_url: str, scopes: tuple[str, ...]) -> SandboxClient:
    """A SMART Backend Services client: client_credentials, private_key_jwt, these scopes."""
    return SandboxClient(client_id, (), "private_key_jwt", jwks_url=jwks_url,
                         grant_types=("client_credentials",), backend_scopes=scopes)
