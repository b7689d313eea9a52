"""The CDS Hooks endpoints (https://cds-hooks.hl7.org/2.0/): discovery, each service, its feedback.

Discovery holds no patient data and is open; every service and feedback call must carry the
CDS client's JWT (``smart_app.cds.trust``), checked before the body is read. Refusals are
OperationOutcomes: 401 (no card), 400 for a body that is not a hook request, 412 without data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request

from smart_app.cds.discovery import SERVICES, CdsService, discovery_document, prefetch_templates
from smart_app.cds.errors import CdsError, CdsRequestInvalid, CdsServiceUnknown
from smart_app.cds.feedback import feedback_from_json, feedback_rows
from smart_app.cds.hook_request import hook_request_from_json
from smart_app.cds.hooks import answer
from smart_app.cds.trust import TrustedCall, finish, trusted_client
from smart_app.errors import operation_outcome_response
from smart_app.services import services, utcnow
from smart_app.store import Base

bp = Blueprint("cds", __name__)


@bp.get("/cds-services")
def discovery() -> Response:
    """The services and their prefetch templates."""
    return jsonify(discovery_document(services().settings.namespace))


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """One hook call: the JWT, then the body, then the cards; the jti is spent whatever the outcome."""
    service = _service(service_id)
    call = _trusted(f"/cds-services/{service.id}")
    with _spending(call) as rows:
        templates = prefetch_templates(services().settings.namespace, service)
        hook = hook_request_from_json(_json_body(), service, set(templates))
        response, cards = answer(service, hook, call.registration, services())
        rows += cards
    return jsonify(response)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Accepted or overridden cards, recorded without PHI."""
    service = _service(service_id)
    call = _trusted(f"/cds-services/{service.id}/feedback")
    with _spending(call) as rows:
        items = feedback_from_json(_json_body(), services().settings.namespace)
        rows += feedback_rows(services().store, items, call.registration.cds_client_iss or "", utcnow())
    return Response(status=200)


@contextmanager
def _spending(call: TrustedCall) -> Iterator[list[Base]]:
    """Spend the call's jti with the rows the block adds, in one commit; a refused call spends it too
    (the JWT does not cover the body, so it must never be usable again)."""
    rows: list[Base] = []
    try:
        yield rows
    except Exception:  # refused (CdsError) or failed: spent all the same
        finish(services().store, call, [], utcnow())
        raise
    finish(services().store, call, rows, utcnow())


@bp.errorhandler(CdsError)
def _refused(error: CdsError) -> Response:
    return operation_outcome_response(error.status, error.code, f"{error.message} {error.hint or ''}".strip())


def _service(service_id: str) -> CdsService:
    found = SERVICES.get(service_id)
    if found is None:
        raise CdsServiceUnknown("This CDS service does not exist.", "GET /cds-services lists the services.")
    return found


def _trusted(path: str) -> TrustedCall:
    svc = services()
    return trusted_client(
        request.headers.get("Authorization"),
        f"{svc.settings.public_url}{path}",
        svc.registrations.values(),
        svc.key_sets,
        utcnow(),
    )


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise CdsRequestInvalid("The request body is not JSON.", "Send application/json (CDS Hooks 2.0).")
    return body
