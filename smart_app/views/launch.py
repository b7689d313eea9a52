"""SMART launch: https://hl7.org/fhir/smart-app-launch/app-launch.html.

``/launch`` (EHR launch) and ``/standalone/<ehr>`` start the authorization
request; ``/callback`` finishes it and opens the compose page.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from smart_app.config import Registration
from smart_app.errors import LaunchError
from smart_app.services import services, utcnow
from smart_app.sessions import cookie_name
from smart_app.smart.authorize import authorization_request
from smart_app.smart.id_token import identity_from_id_token
from smart_app.smart.token import exchange_code

logger = logging.getLogger(__name__)
bp = Blueprint("launch", __name__)

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
MAX_PARAM = 2048
DENIED = {
    "access_denied": "You, or the EHR, did not allow Second Opinion to open this chart.",
    "invalid_scope": "The EHR did not grant the access Second Opinion needs.",
}


@bp.get("/launch")
def ehr_launch() -> Response:
    """EHR launch: ``iss`` must be registered and ``launch`` present."""
    iss, launch = _param("iss"), _param("launch")
    if not iss:
        raise LaunchError(
            "The EHR did not say which server it is (iss is missing).",
            "Launch Second Opinion from inside your EHR.",
        )
    if not launch:
        raise LaunchError(
            "The EHR did not send a launch context (launch is missing).",
            "Launch Second Opinion from the patient's chart in your EHR.",
        )
    return _authorize(services().registration_for(iss), launch)


@bp.get("/standalone/<key>")
def standalone_launch(key: str) -> Response:
    """Standalone launch: the EHR asks the user to pick the patient (``launch/patient``)."""
    registration = next((r for r in services().registrations.values() if r.key == key), None)
    if registration is None:
        raise LaunchError("This EHR is not registered with Second Opinion.")
    return _authorize(registration, None)


def _authorize(registration: Registration, launch: str | None) -> Response:
    svc = services()
    scope = registration.scopes
    if launch is None:
        scope = " ".join("launch/patient" if s == "launch" else s for s in scope.split())
    auth = authorization_request(
        svc.discovery.configuration(registration.iss),
        client_id=registration.client_id,
        redirect_uri=svc.settings.redirect_uri,
        scope=scope,
        aud=registration.iss,
        launch=launch,
    )
    now = utcnow()
    svc.store.purge_expired(now)  # sessions hold tokens: none outlives its expiry by more than a launch
    cookie = svc.sessions.start(registration, auth, now)
    response = redirect(auth.url, 302)
    response.set_cookie(
        cookie_name(svc.settings),
        cookie,
        max_age=svc.settings.session_ttl_seconds,
        path="/",
        secure=svc.settings.cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    logger.info("launch.started registration=%s standalone=%s", registration.key, launch is None)
    return response


@bp.get("/callback")
def callback() -> Response:
    """Finish the authorization code flow and keep the launch context server-side."""
    svc = services()
    state, code, error = _param("state"), _param("code"), _param("error")
    if error:
        if state:
            _consume_quietly(state)
        logger.info("launch.denied error=%s", error if error in DENIED else "other")
        raise LaunchError(
            DENIED.get(error, "The EHR stopped the sign-in."),
            "Launch Second Opinion again from the patient's chart.",
        )
    if not state or not code:
        raise LaunchError(
            "The sign-in answer from the EHR is incomplete.",
            "Launch Second Opinion again from the patient's chart.",
        )
    now = utcnow()
    pending = svc.sessions.take_pending(request.cookies.get(cookie_name(svc.settings)), state, now)
    registration = svc.registration_for(pending.iss)
    config = svc.discovery.configuration(registration.iss)
    token = exchange_code(
        svc.http,
        config.token_endpoint,
        registration,
        code=code,
        redirect_uri=svc.settings.redirect_uri,
        code_verifier=pending.code_verifier,
        now=now,
    )
    if not token.patient or not FHIR_ID.match(token.patient):
        raise LaunchError(
            "The EHR did not say which patient's chart this is.",
            "Open a patient's chart in your EHR and launch Second Opinion from there.",
        )
    if not token.id_token or not config.jwks_uri:
        raise LaunchError(
            "The EHR did not say who you are.",
            "Second Opinion needs OpenID Connect (scopes openid fhirUser).",
        )
    identity = identity_from_id_token(
        token.id_token,
        svc.key_sets.key_set(config.jwks_uri),
        issuer=config.issuer or registration.iss,
        client_id=registration.client_id,
        nonce=pending.nonce,
        now=now.timestamp(),
    )
    svc.sessions.activate(pending, token, identity.fhir_user, now)
    logger.info("launch.completed registration=%s", registration.key)
    return redirect(url_for("compose.compose_page"), 303)


def _param(name: str) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_PARAM:
        raise LaunchError(f"The launch parameter {name} is too long.")
    return value


def _consume_quietly(state: str) -> None:
    """An error answer still uses up its state, so it cannot be replayed."""
    svc = services()
    try:
        svc.sessions.take_pending(None, state, utcnow())
    except LaunchError:
        pass
