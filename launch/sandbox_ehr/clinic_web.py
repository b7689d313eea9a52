"""The receiving clinic's small web app (sandbox only): the inbox page.

Bound to 127.0.0.1 like the rest of the sandbox; it has no sign-in.
"""

from __future__ import annotations

import secrets

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException

from . import clinic_inbox
from .clinic_services import ClinicServices, csrf_token
from .clinic_store import ClinicStore
from .config import SandboxSettings
from .fhir_servers import FhirServer

MAX_UPLOAD = 3 * 1024 * 1024  # the letter (2 MB) plus the answers


def create_clinic_web_app(settings: SandboxSettings, server: FhirServer) -> Flask:
    """Build the inbox app over the clinic's FHIR store."""
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)  # signs the CSRF cookie; new on every start
    app.config.update(MAX_CONTENT_LENGTH=MAX_UPLOAD, SESSION_COOKIE_NAME="inbox_csrf",
                      SESSION_COOKIE_SAMESITE="Strict")
    store = ClinicStore(server.ctx.store, server.ctx.service)
    app.extensions["clinic"] = ClinicServices(store, settings.namespace)
    app.register_blueprint(clinic_inbox.bp)
    app.context_processor(lambda: {"csrf_token": csrf_token()})
    app.register_error_handler(HTTPException, _plain_error)
    return app


def _plain_error(error: HTTPException) -> tuple[str, int]:
    """Every HTTP error as a short page in plain words."""
    code = error.code or 500
    message = error.description or "Something went wrong."
    if code == 413:
        message = "The upload is too large: attach a letter of at most 2 MB."
    return render_template("inbox_error.html", code=code, message=message), code
