"""Open servers (no authorization, e.g. HAPI's public R4 server): the user enters the patient id.

Nothing vouches for the user here, so the page asks for the patient id (a FHIR
id, R4 datatypes.html#id) and, optionally, the requester's Practitioner or
PractitionerRole; reads carry no Authorization header, and referrals are sent
only when the registration allows writes (``open_server_writes``) and a
requester was given. What the app may do is written as the launch's scope, so
the compose page treats it like any granted scope (``smart_app.capabilities``).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from smart_app.config import Registration
from smart_app.errors import CsrfFailed, LaunchError
from smart_app.services import services, utcnow
from smart_app.web.launch import set_launch_cookie

logger = logging.getLogger(__name__)
bp = Blueprint("open_server", __name__)

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
REQUESTER = re.compile(r"(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}")
READ_SCOPE = ("patient/Patient.rs patient/Condition.rs patient/Coverage.rs patient/ServiceRequest.rs "
              "user/Practitioner.rs user/PractitionerRole.rs user/Organization.rs")
WRITE_SCOPE = "patient/ServiceRequest.c"


def open_scope(registration: Registration, requester: str | None) -> str:
    """What the app may do on this open server, as a scope string."""
    writes = registration.open_server_writes and requester is not None
    return f"{READ_SCOPE} {WRITE_SCOPE}" if writes else READ_SCOPE


@bp.get("/open/<key>")
def open_form(key: str) -> str:
    """Ask for the patient id (and the requester) on an open server."""
    return _page(_registration(key), {}, {})


@bp.post("/open/<key>")
def open_start(key: str) -> Response | tuple[str, int]:
    """Validate the ids, start an active launch without a token, open the compose page."""
    registration = _registration(key)
    _same_origin()
    values = {name: request.form.get(name, "") for name in ("patient", "requester")}  # whole, unstripped
    errors: dict[str, str] = {}
    if not FHIR_ID.fullmatch(values["patient"]):
        errors["patient"] = "Enter the patient's id on this server: 1 to 64 letters, digits, - or ."
    if values["requester"] and not REQUESTER.fullmatch(values["requester"]):
        errors["requester"] = "Enter Practitioner/<id> or PractitionerRole/<id>, or leave it empty."
    if errors:
        return _page(registration, values, errors), 422
    requester = values["requester"] or None
    svc, now = services(), utcnow()
    fhir_user = f"{registration.iss}/{requester}" if requester else None
    binding = svc.launches.open_launch(registration, values["patient"], fhir_user,
                                       open_scope(registration, requester), now)
    logger.info("launch.open registration=%s launch=%s requester=%s", registration.key, binding.key,
                "given" if requester else "absent")
    response = redirect(url_for("compose.compose_page", launch_key=binding.key), 303)
    set_launch_cookie(response, svc.settings, binding.key, binding.cookie, svc.settings.session_ttl_seconds)
    return response


def _same_origin() -> None:
    """No launch (and so no CSRF token) exists yet: refuse a post from another site (OWASP CSRF, Origin)."""
    origin = request.headers.get("Origin")
    public = urlsplit(services().settings.public_url)
    if origin is not None and origin != f"{public.scheme}://{public.netloc}":
        logger.warning("launch.open_refused reason=origin")
        raise CsrfFailed("This form was sent from another site.",
                         "Open Second Opinion's home page and start again; nothing was opened.")


def _registration(key: str) -> Registration:
    found = next((r for r in services().registrations.values() if r.key == key and r.open_server), None)
    if found is None:
        raise LaunchError("There is no open FHIR server registered under this name.")
    return found


def _page(registration: Registration, values: dict[str, str], errors: dict[str, str]) -> str:
    return render_template("open_server.html", registration=registration, values=values, errors=errors)
