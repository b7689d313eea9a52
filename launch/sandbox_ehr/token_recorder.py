"""Test aid: the last token request of each client, so tests can check what the app sent.

Inferno's SMART App Launch STU2.2 client checks look at the token request's
fields and client authentication (app-launch.html#obtain-access-token). Only
field and header names are kept, plus the values a check needs that are not
secrets once the request is answered: grant_type, redirect_uri, client_id, the
spent PKCE verifier and the spent, single-use client assertion. Client secrets,
codes and refresh tokens are never kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping
from typing import Any

KEPT_VALUES = ("grant_type", "redirect_uri", "client_id", "code_verifier",
               "client_assertion_type", "client_assertion")


class TokenRecorder:
    """The last token request per client id (in memory; the sandbox is for tests and demos)."""

    def __init__(self) -> None:
        self._last: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def record(self, form: Mapping[str, str], headers: Mapping[str, str]) -> None:
        """Keep what the checks need from one token request."""
        scheme, basic_user = _authorization(headers.get("Authorization", ""))
        assertion_issuer = _assertion_issuer(form.get("client_assertion", ""))
        client = form.get("client_id") or basic_user or assertion_issuer
        entry = {
            "form_names": sorted(form.keys()),
            "header_names": sorted(name.lower() for name in headers.keys()),
            "authorization_scheme": scheme,
            "basic_client_id": basic_user,
            **{name: form[name] for name in KEPT_VALUES if name in form},
        }
        with self._lock:
            self._last[client or ""] = entry

    def last(self, client_id: str) -> dict[str, Any] | None:
        """The last recorded token request of this client, if any."""
        with self._lock:
            return self._last.get(client_id)


def _authorization(value: str) -> tuple[str, str]:
    """(scheme, Basic user name) of an Authorization header; the password is dropped."""
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "basic":
        return scheme, ""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return scheme, ""
    return scheme, decoded.partition(":")[0]


def _assertion_issuer(assertion: str) -> str:
    """The ``iss`` of a JWT client assertion, read without verifying (Authlib verifies it)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return ""
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return ""
    return str(claims.get("iss", "")) if isinstance(claims, dict) else ""
