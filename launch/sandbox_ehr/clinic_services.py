"""What the inbox views share, and its CSRF token (synchronizer token pattern, per browser)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from flask import abort, current_app, session

from .clinic_store import ClinicStore


@dataclass(frozen=True)
class ClinicServices:
    """The clinic's store and the `{ns}` of our local codes."""

    store: ClinicStore
    namespace: str


def clinic() -> ClinicServices:
    """The services of the current inbox app."""
    found: ClinicServices = current_app.extensions["clinic"]
    return found


def csrf_token() -> str:
    """The browser's CSRF token, kept in Flask's signed cookie and created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf(sent: str | None) -> None:
    """Refuse a form whose token does not match the browser's."""
    expected = session.get("csrf")
    # compare_digest raises TypeError on a str that is not ASCII: compare UTF-8 bytes
    if not sent or not expected or not hmac.compare_digest(str(expected).encode(), sent.encode()):
        abort(400, "This form has expired or did not come from this page. Reload it and try again.")
