"""HTTP endpoints of the authorization server: /oauth/authorize, /oauth/token, /oauth/jwks.

Errors before the redirect_uri is validated are shown as a page, never redirected
(RFC 6749 §4.1.2.1); later errors go back to the client with `error` and `state`.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, jsonify, render_template, request

from .auth_store import LaunchContext
from .front_page import latest_encounter
from .services import services
from .signing_key import public_jwks

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """EHR launch issues the code at once; standalone launch asks who and for whom first."""
    oauth = services().oauth
    try:
        grant = oauth.get_consent_grant(end_user=None)
    except OAuth2Error as error:
        return _authorize_error(error)
    launch_id = grant.request.payload.data.get("launch")
    if launch_id:
        return _issue_code(grant, services().store.take_launch(launch_id))
    if request.method == "GET":
        site = services().site
        wants_patient = bool(site.patients) and "launch/patient" in grant.request.scope.split()
        return render_template("sign_in.html", site=site.name, practitioners=site.practitioners,
                               patients=site.patients, wants_patient=wants_patient)
    return _issue_code(grant, _chosen_context())


@bp.post("/token")
def token() -> Response:
    """Token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    services().tokens_seen.record(request.form, dict(request.headers))
    response: Response = services().oauth.create_token_response()
    return response


@bp.get("/jwks")
def jwks() -> Response:
    """Public keys that verify our id_tokens."""
    return jsonify(public_jwks(services().signing_key))


@bp.get("/test/token-requests/<client_id>")
def last_token_request(client_id: str) -> Any:
    """Test aid: what the last token request of this client held (names; no secrets)."""
    recorded = services().tokens_seen.last(client_id)
    return (jsonify(recorded), 200) if recorded else (jsonify({"error": "none recorded"}), 404)


def _issue_code(grant: Any, context: LaunchContext | None) -> Any:
    """Redirect with a code for this context, or with access_denied when there is none.

    The grant was validated by get_consent_grant; validating again would find the
    single-use launch already spent.
    """
    oauth = services().oauth
    try:
        result = grant.create_authorization_response(grant.redirect_uri, context)
    except OAuth2Error as error:
        error.state = grant.request.payload.state
        return oauth.handle_error_response(grant.request, error)
    return oauth.handle_response(*result)


def _chosen_context() -> LaunchContext | None:
    """The practitioner and patient picked on the sign-in page (None = denied)."""
    practitioner = request.form.get("practitioner", "")
    patient = request.form.get("patient") or None
    site = services().site
    if request.form.get("decision") != "allow":
        return None
    if practitioner not in dict(site.practitioners):
        return None
    if patient is not None and patient not in dict(site.patients):
        return None
    encounter = latest_encounter(services().fhir, patient) if patient else None
    return LaunchContext(practitioner, patient, encounter)


def _authorize_error(error: OAuth2Error) -> Any:
    """Redirect to a validated redirect_uri, or show the error to the user."""
    if error.redirect_uri:
        return services().oauth.handle_error_response(None, error)
    page = render_template("oauth_error.html", site=services().site.name, error=error.error,
                           description=error.description)
    return page, 400
