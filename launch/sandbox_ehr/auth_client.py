"""The registered SMART app: a public client (no secret, PKCE required).

SMART App Launch 2.2, client-public:
https://hl7.org/fhir/smart-app-launch/app-launch.html#step-1-register
"""

from __future__ import annotations

from dataclasses import dataclass

from .scopes import is_grantable

# non-clinical scopes the app may be granted (scopes-and-launch-context.html)
CONTEXT_SCOPES = frozenset({
    "openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter",
    "offline_access", "online_access",
})


@dataclass(frozen=True)
class PublicClient:
    """Authlib ClientMixin for the one registered app."""

    client_id: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        """The client_id."""
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: SMART apps must always send redirect_uri."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Granted = requested ∩ allowed (patient/ and user/ clinical scopes, context scopes)."""
        requested = (scope or "").split()
        return " ".join(s for s in requested if s in CONTEXT_SCOPES or is_grantable(s))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match against a registered URI (RFC 6749 §3.1.2.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """A public client has no secret."""
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Public client: token endpoint auth `none` only."""
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        """Only the authorization code flow."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """authorization_code and refresh_token."""
        return grant_type in ("authorization_code", "refresh_token")
