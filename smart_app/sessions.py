"""Launch sessions: the opaque cookie, the one-time state, the tokens kept on the server.

A launch starts a pending session bound to this browser's cookie; the callback
must present both that cookie and the state, once, before the launch expires.
Only then does the session become active and hold the EHR's tokens.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from smart_app.config import Registration, Settings
from smart_app.errors import CsrfFailed, LaunchError, LaunchExpired, SessionRequired
from smart_app.smart.authorize import AuthorizationRequest
from smart_app.smart.token import TokenResponse
from smart_app.store import LaunchSession, Store, token_hash


@dataclass(frozen=True)
class PendingLaunch:
    """What the callback needs from the launch it completes."""

    session_id: str
    registration: str
    iss: str
    code_verifier: str
    nonce: str


def cookie_name(settings: Settings) -> str:
    """``__Host-`` pins the cookie to our origin when it is Secure (RFC 6265bis §4.1.3.2)."""
    return "__Host-so_session" if settings.cookie_secure else "so_session"


class Sessions:
    """Creates, completes and looks up launch sessions."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def start(
        self, registration: Registration, request: AuthorizationRequest, now: datetime
    ) -> str:
        """Record a pending launch; returns the cookie token for this browser."""
        cookie = secrets.token_urlsafe(32)
        with self._store.session() as db:
            db.add(
                LaunchSession(
                    id=token_hash(cookie),
                    state_hash=token_hash(request.state),
                    registration=registration.key,
                    iss=registration.iss,
                    status="pending",
                    code_verifier=request.code_verifier,
                    nonce=request.nonce,
                    created_at=now,
                    expires_at=now + timedelta(seconds=self._settings.launch_ttl_seconds),
                    csrf_token=secrets.token_urlsafe(32),
                )
            )
        return cookie

    def take_pending(self, cookie: str | None, state: str, now: datetime) -> PendingLaunch:
        """Consume the pending launch for ``state``; it must belong to this browser and be fresh."""
        with self._store.session() as db:  # commits the consumption even if a check below fails
            row = db.scalars(
                select(LaunchSession).where(LaunchSession.state_hash == token_hash(state))
            ).first()
            if row is not None:
                row.state_hash = None
        if row is None or row.status != "pending" or row.code_verifier is None:
            raise LaunchExpired(
                "This sign-in link is unknown or was already used.",
                "Launch Second Opinion again from the patient's chart.",
            )
        if cookie is None or not hmac.compare_digest(row.id, token_hash(cookie)):
            raise LaunchError(
                "This sign-in was started in another browser or tab.",
                "Launch Second Opinion again from the patient's chart in this browser.",
            )
        if row.expires_at < now:
            raise LaunchExpired(
                "This sign-in took too long and has expired.",
                "Launch Second Opinion again from the patient's chart.",
            )
        return PendingLaunch(row.id, row.registration, row.iss, row.code_verifier, row.nonce or "")

    def activate(
        self, pending: PendingLaunch, token: TokenResponse, fhir_user: str, now: datetime
    ) -> None:
        """Keep the tokens and launch context server-side; the session is now usable."""
        with self._store.session() as db:
            row = db.get(LaunchSession, pending.session_id)
            if row is None:
                raise LaunchExpired("This sign-in has expired.", "Launch Second Opinion again.")
            row.status, row.code_verifier, row.nonce = "active", None, None
            row.access_token, row.refresh_token = token.access_token, token.refresh_token
            row.token_expires_at, row.scope = token.expires_at, token.scope
            row.patient, row.encounter, row.fhir_user = token.patient, token.encounter, fhir_user
            row.context_json = json.dumps(token.context)
            row.expires_at = now + timedelta(seconds=self._settings.session_ttl_seconds)

    def active(self, cookie: str | None, now: datetime) -> LaunchSession:
        """The active session of this browser, or SessionRequired."""
        if cookie:
            with self._store.session() as db:
                row = db.get(LaunchSession, token_hash(cookie))
                if row is not None and row.status == "active" and row.expires_at >= now:
                    return row
        raise SessionRequired(
            "There is no Second Opinion session in this browser, or it has ended.",
            "Open the patient's chart in your EHR and launch Second Opinion from there.",
        )

    def save_chart(self, session_id: str, chart_json: str) -> None:
        """Keep the chart read at compose time for the form's later steps."""
        with self._store.session() as db:
            row = db.get(LaunchSession, session_id)
            if row is not None:
                row.chart_json = chart_json


def check_csrf(session: LaunchSession, submitted: str | None) -> None:
    """The form's token must equal the session's (synchronizer token pattern)."""
    if not submitted or not hmac.compare_digest(session.csrf_token, submitted):
        raise CsrfFailed(
            "The form had expired or did not come from Second Opinion.",
            "Reload the page and try again; what you typed was not sent.",
        )
