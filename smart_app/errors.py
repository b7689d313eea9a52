"""The app's exception tree and the one handler that answers people in HTML and machines in FHIR.

::

    SmartAppError                 500 exception
    ├── LaunchError               400 invalid      bad launch or callback input, unknown iss
    │   └── LaunchExpired         400 expired      state unknown, used or too old
    ├── LaunchRequired            401 login        no launch in this browser
    ├── CsrfFailed                400 security     form without a valid CSRF token
    ├── ReferralInvalid           422 invalid      a form the rules refuse
    ├── ReferralNotFound          404 not-found
    ├── ReferralChanged           409 conflict     someone moved the referral on meanwhile
    └── EhrError                  502 transient    the EHR answered something we cannot use
        ├── EhrUnauthorized       401 expired      the EHR no longer accepts our token
        ├── EhrForbidden          403 forbidden
        ├── ResourceNotFound      404 not-found
        └── EhrUnavailable        504 timeout      the EHR could not be reached, or is failing
            └── EhrOutcomeUnknown 504 timeout      a request went out; whether it took effect is unknown

Messages are written for the person who reads them; upstream bodies never go into them.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from fhir_mappings.operation_outcome import operation_outcome_from_issue

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class SmartAppError(Exception):
    """Base class: carries the HTTP status and the OperationOutcome issue code."""

    status = 500
    code = "exception"
    title = "Something went wrong"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class LaunchError(SmartAppError):
    status, code, title = 400, "invalid", "The launch could not start"


class LaunchExpired(LaunchError):
    status, code, title = 400, "expired", "This sign-in has expired"


class LaunchRequired(SmartAppError):
    status, code, title = 401, "login", "Launch Second Opinion from your EHR"


class CsrfFailed(SmartAppError):
    status, code, title = 400, "security", "The form could not be accepted"


class ReferralInvalid(SmartAppError):
    status, code, title = 422, "invalid", "The referral is not complete"


class ReferralNotFound(SmartAppError):
    status, code, title = 404, "not-found", "Referral not found"


class ReferralChanged(SmartAppError):
    status, code, title = 409, "conflict", "The referral changed meanwhile"


class EhrError(SmartAppError):
    status, code, title = 502, "transient", "The EHR gave an answer we could not use"
    upstream_status: int | None = None  # the EHR's own HTTP status, when it answered one


class EhrUnauthorized(EhrError):
    status, code, title = 401, "expired", "Your EHR session has ended"


class EhrForbidden(EhrError):
    status, code, title = 403, "forbidden", "The EHR refused this request"


class ResourceNotFound(EhrError):
    status, code, title = 404, "not-found", "Not found in the EHR"


class EhrUnavailable(EhrError):
    status, code, title = 504, "timeout", "The EHR is not answering"


class EhrOutcomeUnknown(EhrUnavailable):
    """The request may have reached the EHR: whether a write happened is not known from here."""


def wants_fhir() -> bool:
    """True when the client asked for JSON rather than a page (``*/*`` gets the page)."""
    best = request.accept_mimetypes.best_match(["text/html", FHIR_JSON, "application/json"])
    return best in (FHIR_JSON, "application/json")


def operation_outcome_response(status: int, code: str, message: str) -> Response:
    """The error as a FHIR OperationOutcome, for machines."""
    outcome = operation_outcome_from_issue(code, message)
    return Response(json.dumps(outcome, separators=(",", ":")), status=status, mimetype=FHIR_JSON)


def error_response(status: int, code: str, title: str, message: str, hint: str | None) -> Response:
    """Render the error as an OperationOutcome or as a plain-language page."""
    if wants_fhir():
        return operation_outcome_response(status, code, message)
    page = render_template("error.html", title=title, message=message, hint=hint)
    return Response(page, status=status, mimetype="text/html")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; unexpected errors are logged by type only and answered 500."""

    @app.errorhandler(SmartAppError)
    def _app_error(error: SmartAppError) -> Response:
        logger.info("request.refused error=%s status=%s", type(error).__name__, error.status)
        return error_response(error.status, error.code, error.title, error.message, error.hint)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(status, "invalid")
        return error_response(status, code, error.name, error.description or error.name, None)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.error("request.failed error=%s", type(error).__name__, exc_info=app.debug)
        return error_response(
            500,
            "exception",
            "Something went wrong",
            "An unexpected error occurred.",
            "Nothing was sent. Try again; if it keeps happening, tell your administrator.",
        )
