"""SMART launch: https://hl7.org/fhir/smart-app-launch/app-launch.html.

``/launch`` (EHR launch) and ``/standalone/<ehr>`` start the authorization
request; ``/callback`` finishes it, renews the launch's cookie and opens the
compose page under the launch's own key (one launch per tab).
"""

from __future__ import annotations

import dataclasses
import logging
import re

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from smart_app.capabilities import ESSENTIAL, PHYSICIAN_ESSENTIAL, granted_capabilities, missing_notices
from smart_app.chart.reader import chart_to_json
from smart_app.config import Registration, Role, Settings
from smart_app.errors import EhrError, LaunchError
from smart_app.launches import PendingLaunch, cookie_name
from smart_app.services import services, utcnow
from smart_app.smart.authorize import authorization_request
from smart_app.smart.discovery import SmartConfiguration
from smart_app.smart.id_token import UserNotSupported, identity_from_id_token, practitioner_reference
from smart_app.smart.scopes import scopes_for_style, style_for
from smart_app.smart.token import TokenResponse, exchange_code
from smart_app.web.clients import client_credentials, endpoints
from smart_app.web.compose import read_chart
from smart_app.web.referrals import file_awaiting

logger = logging.getLogger(__name__)
bp = Blueprint("launch", __name__)

MAX_PARAM = 2048
TASK_REFERENCE = re.compile(r"Task/[A-Za-z0-9\-.]{1,64}")
AGAIN = "Launch Second Opinion again from the patient's chart."
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


def requested_scope(
    registration: Registration, config: SmartConfiguration, standalone: bool
) -> str:
    """Registered scopes in the EHR's syntax, plus the refresh scope (scopes-and-launch-context.html).

    A standalone launch asks the EHR to pick a patient (``launch/patient``), except at an EHR where
    only the answering physician launches: their worklist spans patients, so no patient is asked for.
    """
    scopes = registration.scopes.split()
    if standalone:
        patient = [] if registration.roles == ("physician",) else ["launch/patient"]
        scopes = [p for s in scopes for p in (patient if s == "launch" else [s])]
    if registration.refresh and registration.refresh not in scopes:
        scopes.append(registration.refresh)
    return scopes_for_style(" ".join(scopes), style_for(config.capabilities, registration.scope_style))


def _authorize(registration: Registration, launch: str | None) -> Response:
    if registration.open_server:
        raise LaunchError("This FHIR server is open and has no sign-in.",
                          "Open it from Second Opinion's home page and enter the patient id.")
    svc = services()
    config = endpoints(registration)
    auth = authorization_request(
        config,
        client_id=registration.client_id,
        redirect_uri=svc.settings.redirect_uri,
        scope=requested_scope(registration, config, standalone=launch is None),
        aud=registration.iss,
        launch=launch,
    )
    binding = svc.launches.start(registration, auth, utcnow())
    response = redirect(auth.url, 302)
    set_launch_cookie(response, svc.settings, binding.key, binding.cookie, svc.settings.launch_ttl_seconds)
    logger.info("launch.started registration=%s standalone=%s", registration.key, launch is None)
    return response


def set_launch_cookie(response: Response, settings: Settings, key: str, value: str, max_age: int) -> None:
    """HttpOnly, host-only; framed cross-site: ``SameSite=None; Secure; Partitioned``.

    Partitioned (CHIPS) keys the cookie to the EHR's top-level site, so it works
    where browsers block third-party cookies (e.g. private windows).
    """
    response.set_cookie(
        cookie_name(settings, key),
        value,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure or settings.cross_site_cookie,
        httponly=True,
        samesite="None" if settings.cross_site_cookie else "Lax",
        partitioned=settings.cross_site_cookie,
    )


@bp.get("/callback")
def callback() -> Response:
    """Finish the authorization code flow, renew the cookie, keep the launch context server-side."""
    svc = services()
    state, code, error = _param("state"), _param("code"), _param("error")
    if error:
        if state:
            _consume_quietly(state)
        logger.info("launch.denied error=%s", error if error in DENIED else "other")
        raise LaunchError(DENIED.get(error, "The EHR stopped the sign-in."), AGAIN)
    if not state or not code:
        raise LaunchError("The sign-in answer from the EHR is incomplete.", AGAIN)
    now = utcnow()
    pending = svc.launches.take_pending(request.cookies, state, now)
    registration = svc.registration_for(pending.iss)
    config = endpoints(registration)
    _check_response_issuer(config, registration)
    token = exchange_code(
        svc.http, config.token_endpoint, client_credentials(registration), code=code,
        redirect_uri=svc.settings.redirect_uri, code_verifier=pending.code_verifier, now=now,
    )
    return _signed_in(pending, registration, config, token)


def _signed_in(
    pending: PendingLaunch, registration: Registration, config: SmartConfiguration, token: TokenResponse
) -> Response:
    """Check the grant and the user, activate the launch, and open the role's first page."""
    svc = services()
    role = launch_role(registration, token)
    token = check_granted(token, registration, role)
    fhir_user = verified_practitioner(token, config, registration, pending, role)
    chart = None
    if role == "atp":
        chart = _chart_now(pending.iss, token, fhir_user, role)
        file_awaiting(pending.iss, fhir_user, token.patient, token.access_token)  # opinions back since
    binding = svc.launches.activate(pending, token, fhir_user, utcnow(), role, chart_json=chart)
    logger.info("launch.completed registration=%s launch=%s role=%s", registration.key, binding.key, role)
    if role == "physician":
        target = url_for("answering.landing", launch_key=binding.key, task=_task_in_context(token))
    else:
        target = url_for("compose.compose_page", launch_key=binding.key)
    response = redirect(target, 303)
    set_launch_cookie(response, svc.settings, binding.key, binding.cookie, svc.settings.session_ttl_seconds)
    return response


def _chart_now(iss: str, token: TokenResponse, fhir_user: str, role: Role) -> str | None:
    """The ATP's chart, read now and kept with the launch in the same write (the compose page shows it);
    if the EHR fails, none: the compose page reads it again and says what went wrong."""
    try:
        chart = read_chart(iss, token.access_token, token.patient or "", fhir_user,
                           granted_capabilities(token.scope, role))  # fmt: skip
    except EhrError as error:
        logger.info("launch.chart_deferred error=%s", type(error).__name__)
        return None
    return chart_to_json(chart)


def launch_role(registration: Registration, token: TokenResponse) -> Role:
    """Who this launch is for: the registration says who launches from this EHR; where both may,
    a launch with a patient in context is the ATP's and one without is the answering physician's."""
    if registration.roles == ("physician",):
        return "physician"
    if "physician" in registration.roles and not token.patient:
        return "physician"
    return "atp"


def _task_in_context(token: TokenResponse) -> str | None:
    """The Task id when the EHR launched on one referral Task (SMART 2.2 ``fhirContext``)."""
    context = token.context.get("fhirContext")
    for item in context if isinstance(context, list) else []:
        reference = item.get("reference") if isinstance(item, dict) else None
        if isinstance(reference, str) and TASK_REFERENCE.fullmatch(reference):
            return reference.removeprefix("Task/")
    return None


def check_granted(token: TokenResponse, registration: Registration, role: Role = "atp") -> TokenResponse:
    """The token with its granted scope (none = as requested, RFC 6749 §5.1); essentials or refuse."""
    if not token.scope:
        token = dataclasses.replace(token, scope=registration.scopes)
    granted = granted_capabilities(token.scope, role)
    essential = PHYSICIAN_ESSENTIAL if role == "physician" else ESSENTIAL
    missing = missing_notices(granted, essential)
    if missing:
        logger.info("launch.scope_refused registration=%s missing=%s", registration.key,
                    ",".join(n for n in essential if n not in granted))
        raise LaunchError(" ".join(missing) + " Second Opinion cannot work without it.",
                          "Ask your EHR administrator to grant it, then launch again.")
    logger.info("launch.granted registration=%s capabilities=%s", registration.key, ",".join(sorted(granted)))
    return token


def _check_response_issuer(config: SmartConfiguration, registration: Registration) -> None:
    """RFC 9207 §2.4: an ``iss`` on the callback must be the issuer we sent the user to."""
    iss = _param("iss")
    if not iss and not config.issuer_in_response:
        return
    if iss != (config.issuer or registration.iss):
        logger.warning("launch.issuer_mismatch registration=%s", registration.key)
        raise LaunchError("The sign-in answer came from another server than the EHR.", AGAIN)


def verified_practitioner(
    token: TokenResponse, config: SmartConfiguration, registration: Registration, pending: PendingLaunch,
    role: Role = "atp",
) -> str:
    """The verified fhirUser: a Practitioner or PractitionerRole on the launch's FHIR server."""
    svc = services()
    if role == "atp" and not token.patient:
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
        token.id_token, svc.key_sets.key_set(config.jwks_uri), issuer=config.issuer or registration.iss,
        client_id=registration.client_id, nonce=pending.nonce, now=utcnow().timestamp(),
        nonce_required=registration.id_token_nonce == "required",
    )
    try:
        return f"{registration.iss}/{practitioner_reference(identity.fhir_user, registration.iss)}"
    except UserNotSupported as refused:
        logger.info("launch.user_refused registration=%s", registration.key)
        who = "second-opinion physician" if role == "physician" else "treating practitioner"
        raise LaunchError(
            f"Second Opinion is for the {who}, and the EHR did not sign you in as one.",
            f"Ask the {who} to launch it, or tell your administrator.",
        ) from refused


def _param(name: str) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_PARAM:
        raise LaunchError(f"The launch parameter {name} is too long.")
    return value


def _consume_quietly(state: str) -> None:
    """An error answer still uses up its state, so it cannot be replayed."""
    try:
        services().launches.take_pending({}, state, utcnow())
    except LaunchError:
        pass
