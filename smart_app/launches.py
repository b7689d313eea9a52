"""Launches: one per tab, each with its key in the URL and its own cookie; tokens kept server-side.

A launch starts pending, bound to a cookie set at ``/launch``; the callback
must present that cookie and the one-time state before the launch expires.
The callback then renews the cookie (the pending value stops working: no
session fixation, OWASP ASVS 3.2.1) and the launch becomes active. Each
launch has its own key and cookie, so two tabs on two patients never mix
(app-launch.html: the app keeps one state per launch).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from smart_app.capabilities import granted_capabilities
from smart_app.config import Registration, Settings
from smart_app.errors import CsrfFailed, LaunchError, LaunchExpired, LaunchRequired
from smart_app.smart.authorize import AuthorizationRequest
from smart_app.smart.token import TokenResponse
from smart_app.store import Launch, Store, token_hash

LAUNCH_KEY_BYTES = 16


@dataclass(frozen=True)
class PendingLaunch:
    """What the callback needs from the launch it completes."""

    launch_id: str
    registration: str
    iss: str
    code_verifier: str
    nonce: str


@dataclass(frozen=True)
class BrowserBinding:
    """The launch key (in URLs) and the cookie value that proves this browser owns it."""

    key: str
    cookie: str


def cookie_name(settings: Settings, key: str) -> str:
    """One cookie per launch; ``__Host-`` pins it to our origin when Secure (RFC 6265bis §4.1.3.2)."""
    return f"__Host-so_{key}" if settings.cookie_secure else f"so_{key}"


def _launch_required() -> LaunchRequired:
    return LaunchRequired(
        "There is no Second Opinion launch for this page in this browser, or it has ended.",
        "Open the patient's chart in your EHR and launch Second Opinion from there.",
    )


class Launches:
    """Creates, completes, looks up and ends launches."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def start(
        self, registration: Registration, request: AuthorizationRequest, now: datetime
    ) -> BrowserBinding:
        """Record a pending launch; returns its key and the cookie for this browser."""
        binding = BrowserBinding(secrets.token_hex(LAUNCH_KEY_BYTES), secrets.token_urlsafe(32))
        with self._store.transaction() as db:
            db.add(
                Launch(
                    id=binding.key,
                    cookie_hash=token_hash(binding.cookie),
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
        return binding

    def open_launch(
        self, registration: Registration, patient: str, fhir_user: str | None, scope: str, now: datetime
    ) -> BrowserBinding:
        """An active launch on an open server (no authorization): the patient the user entered."""
        binding = BrowserBinding(secrets.token_hex(LAUNCH_KEY_BYTES), secrets.token_urlsafe(32))
        with self._store.transaction() as db:
            db.add(
                Launch(
                    id=binding.key, cookie_hash=token_hash(binding.cookie), state_hash=None,
                    registration=registration.key, iss=registration.iss, status="active",
                    created_at=now, expires_at=now + timedelta(seconds=self._settings.session_ttl_seconds),
                    csrf_token=secrets.token_urlsafe(32), scope=scope, patient=patient,
                    fhir_user=fhir_user, context_json="{}",
                )
            )
        return binding

    def take_pending(self, cookies: Mapping[str, str], state: str, now: datetime) -> PendingLaunch:
        """Consume the pending launch for ``state``; it must belong to this browser and be fresh."""
        with self._store.transaction() as db:  # commits the consumption even if a check below fails
            row = db.scalars(select(Launch).where(Launch.state_hash == token_hash(state))).first()
            if row is not None:
                row.state_hash = None
        if row is None or row.status != "pending" or row.code_verifier is None:
            raise LaunchExpired(
                "This sign-in link is unknown or was already used.",
                "Launch Second Opinion again from the patient's chart.",
            )
        if not _owns(row, cookies.get(cookie_name(self._settings, row.id))):
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
        self, pending: PendingLaunch, token: TokenResponse, fhir_user: str, now: datetime, role: str = "atp",
        chart_json: str | None = None,
    ) -> BrowserBinding:
        """Keep tokens, context and the chart read at the callback server-side and renew the cookie;
        the launch is now usable."""
        cookie = secrets.token_urlsafe(32)
        with self._store.transaction() as db:
            row = db.get(Launch, pending.launch_id)
            if row is None:
                raise LaunchExpired("This sign-in has expired.", "Launch Second Opinion again.")
            row.cookie_hash = token_hash(cookie)
            row.status, row.code_verifier, row.nonce, row.role = "active", None, None, role
            _keep_token(row, token)
            row.patient, row.encounter, row.fhir_user = token.patient, token.encounter, fhir_user
            row.context_json = json.dumps(token.context)
            if chart_json is not None:
                row.chart_json, row.chart_read_at = chart_json, now
            row.expires_at = now + timedelta(seconds=self._settings.session_ttl_seconds)
        return BrowserBinding(pending.launch_id, cookie)

    def active(self, key: str, cookies: Mapping[str, str], now: datetime) -> Launch:
        """The active launch ``key`` if this browser owns it, or LaunchRequired."""
        with self._store.reading() as db:
            row = db.get(Launch, key)
        if row is None or row.status != "active" or row.expires_at < now:
            raise _launch_required()
        if not _owns(row, cookies.get(cookie_name(self._settings, key))):
            raise _launch_required()
        return row

    def reload(self, key: str) -> Launch | None:
        """The launch as stored now (after another request refreshed its token)."""
        with self._store.reading() as db:
            return db.get(Launch, key)

    def claim_refresh(self, key: str, now: datetime, hold_seconds: int = 30) -> bool:
        """Take the one right to refresh this launch's token now (single-flight across workers)."""
        with self._store.transaction() as db:
            result = db.execute(
                update(Launch)
                .where(Launch.id == key)
                .where(or_(Launch.refreshing_until.is_(None), Launch.refreshing_until < now))
                .values(refreshing_until=now + timedelta(seconds=hold_seconds))
            )
            return bool(getattr(result, "rowcount", 0))

    def keep_refreshed(self, key: str, token: TokenResponse) -> None:
        """Store the new tokens; a refresh token the EHR rotated replaces the old one for good."""
        with self._store.transaction() as db:
            row = db.get(Launch, key)
            if row is not None:
                _keep_token(row, token, keep_refresh=True)
                row.refreshing_until = None

    def end(self, key: str) -> None:
        """The EHR refused to refresh: drop the tokens, keep the chart and the draft."""
        with self._store.transaction() as db:
            row = db.get(Launch, key)
            if row is not None:
                row.status, row.access_token, row.refresh_token = "ended", None, None
                row.refreshing_until = None

    def save_chart(self, launch_id: str, chart_json: str, now: datetime) -> None:
        """Keep the chart read at compose time for the form's later steps."""
        with self._store.transaction() as db:
            row = db.get(Launch, launch_id)
            if row is not None:
                row.chart_json, row.chart_read_at = chart_json, now

    def chart_json(self, launch_id: str) -> str | None:
        """The chart kept at compose time (deferred: a request's launch row comes without it)."""
        with self._store.reading() as db:
            return db.execute(select(Launch.chart_json).where(Launch.id == launch_id)).scalar_one_or_none()

    def save_draft(self, launch_id: str, draft_json: str) -> None:
        """Keep what the ATP typed when the launch cannot continue."""
        self._set(launch_id, draft_json=draft_json)

    def _set(self, launch_id: str, **values: str) -> None:
        with self._store.transaction() as db:
            row = db.get(Launch, launch_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)


def capabilities(launch: Launch) -> frozenset[str]:
    """What this launch's granted scope lets the app do (``smart_app.capabilities``)."""
    return granted_capabilities(launch.scope or "", launch.role)


def _keep_token(row: Launch, token: TokenResponse, keep_refresh: bool = False) -> None:
    row.access_token, row.token_expires_at = token.access_token, token.expires_at
    if token.refresh_token or not keep_refresh:
        row.refresh_token = token.refresh_token
    if token.scope or not keep_refresh:
        row.scope = token.scope


def tokens_equal(expected: str, given: str) -> bool:
    """Constant-time equality of two tokens, whatever characters ``given`` holds.

    ``hmac.compare_digest`` raises TypeError on a ``str`` that is not ASCII, so both
    sides are compared as UTF-8 bytes (a lone surrogate kept, so it never matches).
    """
    as_bytes = (value.encode("utf-8", "surrogatepass") for value in (expected, given))
    return hmac.compare_digest(*as_bytes)


def _owns(row: Launch, cookie: str | None) -> bool:
    return cookie is not None and tokens_equal(row.cookie_hash, token_hash(cookie))


def check_csrf(launch: Launch, submitted: str | None) -> None:
    """The form's token must equal the launch's (synchronizer token pattern)."""
    if not submitted or not tokens_equal(launch.csrf_token, submitted):
        raise CsrfFailed(
            "The form had expired or did not come from Second Opinion.",
            "Reload the page and try again; what you typed was not sent.",
        )
