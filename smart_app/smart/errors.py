"""Protocol errors of the SMART client; the views turn them into the app's plain-words errors.

Messages say what went wrong in the protocol, never what the EHR sent back.
"""

from __future__ import annotations


class SmartError(Exception):
    """Something in a SMART exchange did not hold (base class)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DiscoveryFailed(SmartError):
    """The EHR's SMART configuration is missing, unreadable or unsafe."""


class EndpointUnreachable(SmartError):
    """An EHR endpoint did not answer."""


class TokenRefused(SmartError):
    """The token endpoint refused; ``error`` is the RFC 6749 §5.2 code when there was one."""

    def __init__(self, message: str, error: str | None, status: int) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


class TokenInvalid(SmartError):
    """A token response, id_token or launch context does not meet the specification."""


class ClientMisconfigured(SmartError):
    """The client's own credentials (secret, key) are missing for the chosen authentication."""
