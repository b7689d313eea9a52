"""One guard loads the launch for every view that needs it (Flask ``before_request`` and ``g``).

Launch-scoped pages live under ``/l/<launch_key>/``: the key is taken from the
URL by ``url_value_preprocessor`` and put back by ``url_defaults``, so views call
``url_for`` as before and each tab keeps its own launch. The guard refreshes the
access token shortly before it expires, once per launch at a time
(app-launch.html#refresh-access-token); a refused refresh keeps the draft.
"""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request

from smart_app.errors import LaunchRequired, error_response, wants_fhir
from smart_app.services import services, utcnow
from smart_app.smart.errors import SmartError, TokenRefused
from smart_app.smart.token import TokenResponse, refresh
from smart_app.store import Launch, release_unit
from smart_app.web.clients import client_credentials, endpoints

logger = logging.getLogger(__name__)

URL_PREFIX = "/l/<launch_key>"
LAUNCH_KEY = re.compile(r"[0-9a-f]{32}")
WAIT_FOR_OTHER_REFRESH_SECONDS = 10.0


class LaunchEnded(LaunchRequired):
    """The EHR no longer lets this launch continue; the page keeps what the ATP typed."""

    title = "Reopen Second Opinion from the patient's chart"

    def __init__(self, draft: dict[str, list[str]]) -> None:
        super().__init__(
            "Your EHR ended this Second Opinion session.",
            "Reopen Second Opinion from the patient's chart. Nothing was sent; "
            "what you typed is shown below so you can copy it.",
        )
        self.draft = draft


ROLE_PAGES = {
    "atp": "These pages are for the treating physician who sends the referral.",
    "physician": "These pages are for the second-opinion physician who answers the referral.",
}


class WrongRole(LaunchRequired):
    """The launch is for the other role (an ATP on the answering pages, or the reverse)."""

    status, code, title = 403, "forbidden", "This page is for someone else"


def protect(bp: Blueprint, roles: tuple[str, ...] = ("atp",)) -> None:
    """Put ``bp``'s views under the launch key and load ``g.launch`` (of one of ``roles``) before each."""
    bp.url_value_preprocessor(_take_key)
    bp.url_defaults(_give_key)
    bp.before_request(lambda: _load_launch(roles))


def current_launch() -> Launch:
    """The launch the guard loaded for this request."""
    launch: Launch = g.launch
    return launch


def _take_key(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.launch_key = (values or {}).pop("launch_key", None)


def _give_key(endpoint: str, values: dict[str, Any]) -> None:
    if "launch_key" not in values and g.get("launch_key"):
        values["launch_key"] = g.launch_key


def _load_launch(roles: tuple[str, ...]) -> None:
    key = g.get("launch_key")
    if not isinstance(key, str) or not LAUNCH_KEY.fullmatch(key):
        raise LaunchRequired(
            "This page does not belong to a Second Opinion launch.",
            "Open the patient's chart in your EHR and launch Second Opinion from there.",
        )
    launch = services().launches.active(key, request.cookies, utcnow())
    if launch.role not in roles:
        raise WrongRole(ROLE_PAGES[roles[0]], "Launch Second Opinion from your own EHR for your part.")
    g.launch = _fresh(launch, utcnow())


def _fresh(launch: Launch, now: datetime) -> Launch:
    """The launch with an access token that outlives the margin, refreshing it if need be."""
    margin = timedelta(seconds=services().settings.refresh_margin_seconds)
    if not _needs_refresh(launch, now + margin):
        return launch
    if not launch.refresh_token:
        return launch  # the EHR gave no refresh token: the launch ends when the token does
    launches = services().launches
    if not launches.claim_refresh(launch.id, now):
        return _after_other_refresh(launch)
    launch = launches.reload(launch.id) or launch  # another request may have refreshed meanwhile
    if not _needs_refresh(launch, now + margin) or not launch.refresh_token:
        launches.keep_refreshed(launch.id, _unchanged(launch))
        return launch
    try:
        registration = services().registration_for(launch.iss)
        token = refresh(services().http, endpoints(registration).token_endpoint,
                        client_credentials(registration), refresh_token=launch.refresh_token, now=now)
    except TokenRefused as refused:
        if refused.error != "invalid_grant":
            launches.keep_refreshed(launch.id, _unchanged(launch))
            raise
        _end(launch)
        raise LaunchEnded(_draft()) from refused
    except SmartError:
        launches.keep_refreshed(launch.id, _unchanged(launch))
        raise
    launches.keep_refreshed(launch.id, token)
    logger.info("launch.refreshed launch=%s", launch.id)
    return launches.reload(launch.id) or launch


def _needs_refresh(launch: Launch, horizon: datetime) -> bool:
    return launch.token_expires_at is not None and launch.token_expires_at <= horizon


def _after_other_refresh(launch: Launch) -> Launch:
    """Another request holds the refresh: wait for its result instead of spending the token twice."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_REFRESH_SECONDS
    while time.monotonic() < deadline:
        release_unit()  # no transaction held while waiting
        time.sleep(0.05)
        current = services().launches.reload(launch.id)
        if current is None or current.status == "ended":
            raise LaunchEnded(_draft())
        if current.refreshing_until is None:
            return current
    return launch


def _unchanged(launch: Launch) -> TokenResponse:
    """The tokens as they are, to release the refresh claim after a failure that spent nothing."""
    return TokenResponse(access_token=launch.access_token or "", scope=launch.scope or "",
                         expires_at=launch.token_expires_at, refresh_token=launch.refresh_token)


def _end(launch: Launch) -> None:
    draft = _draft()
    if draft:
        services().launches.save_draft(launch.id, json.dumps(draft))
    services().launches.end(launch.id)
    logger.info("launch.ended launch=%s reason=invalid_grant", launch.id)


def _draft() -> dict[str, list[str]]:
    """The posted form without its CSRF token (what the ATP typed)."""
    if request.method != "POST":
        return {}
    return {k: v for k, v in request.form.lists() if k != "csrf_token" and any(x.strip() for x in v)}


def register_pages(app: Flask) -> None:
    """The "reopen from the chart" page, which still holds the draft."""

    @app.errorhandler(LaunchEnded)
    def _ended(error: LaunchEnded) -> Response:
        if wants_fhir():
            return error_response(error.status, error.code, error.title, error.message, error.hint)
        page = render_template("reopen.html", title=error.title, message=error.message,
                               hint=error.hint, draft=error.draft)
        return Response(page, status=error.status, mimetype="text/html")
