"""The receiving clinic's small web app (sandbox only): the inbox and the shared records' files.

Bound to 127.0.0.1 like the rest of the sandbox; it has no sign-in. Every answer carries
strict security headers: the pages load nothing but their own stylesheet, and no page or
file may be framed, sniffed or cached.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

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
    policy = _page_policy(app)
    app.after_request(lambda response: _secure_headers(response, policy))
    return app


def _page_policy(app: Flask) -> str:
    """CSP for the pages: nothing but their own inline stylesheet (by hash) and forms to self."""
    assert app.jinja_loader is not None
    source = app.jinja_loader.get_source(app.jinja_env, "base.html")[0]
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in re.findall(r"<style>(.*?)</style>", source, re.S)
    )
    return (f"default-src 'none'; style-src {hashes}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")


def _secure_headers(response: Response, policy: str) -> Response:
    """Strict headers on every answer (a file view sets its own CSP); PHI is never cached."""
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _plain_error(error: HTTPException) -> tuple[str, int]:
    """Every HTTP error as a short page in plain words."""
    code = error.code or 500
    message = error.description or "Something went wrong."
    if code == 413:
        message = "The upload is too large: attach a letter of at most 2 MB."
    return render_template("inbox_error.html", code=code, message=message), code
