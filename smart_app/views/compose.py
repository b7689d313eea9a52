"""Compose a second-opinion referral and send it to the EHR as a ServiceRequest."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.codes import SCOPE_STATEMENT
from fhir_mappings.rules import QUESTION_TEMPLATES, ime_warnings, related_clinic_reason
from fhir_mappings.service_request import (
    identifier_search_from_referral_id,
    if_none_exist_from_referral,
    questions_from_service_request,
    service_request_from_referral,
)
from smart_app.chart import Chart, chart_from_json, chart_to_json, load_chart
from smart_app.compose_form import ComposeForm, FormInvalid, referral_from_form
from smart_app.errors import EhrError, ReferralInvalid
from smart_app.fhir_client import FhirClient
from smart_app.referrals import ReferralLedger
from smart_app.services import services, utcnow
from smart_app.sessions import check_csrf, cookie_name
from smart_app.store import LaunchSession

logger = logging.getLogger(__name__)
bp = Blueprint("compose", __name__)

VISIT_TYPES = {
    "in-person": "In person",
    "telehealth": "Telehealth",
    "record-review": "Record review",
}


@bp.get("/compose")
def compose_page() -> str:
    """Read the chart (one batch) and show an empty form."""
    session = _session()
    chart = load_chart(
        _client(session),
        session.patient or "",
        session.fhir_user or "",
        services().settings.namespace,
    )
    services().sessions.save_chart(session.id, chart_to_json(chart))
    form = ComposeForm(referral_id=uuid.uuid4().hex, patient=chart.patient.reference)
    return _render(session, chart, form)


@bp.post("/compose")
def compose_step() -> tuple[str, int]:
    """The form's own buttons: add a blank question or a template question."""
    session = _session()
    check_csrf(session, request.form.get("csrf_token"))
    form = ComposeForm.from_form(request.form)
    template = request.form.get("template", "")
    form.add_question(
        template
        if request.form.get("action") == "add-template" and template in QUESTION_TEMPLATES
        else ""
    )
    return _render(session, _chart(session), form), 200


@bp.post("/referrals")
def send_referral() -> Response | tuple[str, int]:
    """Validate, write the ServiceRequest with If-None-Exist, and show the confirmation."""
    svc, session = services(), _session()
    check_csrf(session, request.form.get("csrf_token"))
    chart, form, now = _chart(session), ComposeForm.from_form(request.form), utcnow()
    try:
        referral = referral_from_form(form, chart, now)
    except FormInvalid as invalid:
        return _render(session, chart, form, invalid.errors), 422
    ledger = ReferralLedger(svc.store)
    if ledger.claim(referral.id, session.id, session.iss, now) == "send":
        resource = service_request_from_referral(referral, svc.settings.namespace)
        try:
            created = _client(session).create(
                resource, if_none_exist_from_referral(referral, svc.settings.namespace)
            )
        except EhrError as error:
            ledger.release(referral.id)
            logger.warning("referral.failed id=%s error=%s", referral.id, type(error).__name__)
            problem = f"{error.message} Nothing was sent; your answers are kept below."
            return _render(session, chart, form, {"send": problem}), error.status
        ledger.mark_sent(referral.id, created.resource_id, utcnow())
        logger.info("referral.created id=%s new=%s", referral.id, created.created)
    return redirect(url_for("compose.confirmation", referral_id=referral.id), 303)


@bp.get("/referrals/<referral_id>")
def confirmation(referral_id: str) -> str:
    """Show what the EHR now holds for this referral, read back by our identifier."""
    svc, session = services(), _session()
    status = ReferralLedger(svc.store).status(referral_id, session.id)
    identifier = identifier_search_from_referral_id(status.id, svc.settings.namespace)
    bundle = _client(session).search(  # patient= keeps the search inside patient/ scopes
        "ServiceRequest", {"identifier": identifier, "patient": session.patient or ""}
    )
    found = [r for r in resources_from_bundle(bundle) if r.get("resourceType") == "ServiceRequest"]
    service_request = found[0] if found else None
    return render_template(
        "confirmation.html",
        referral_id=status.id,
        service_request=service_request,
        questions=questions_from_service_request(service_request) if service_request else (),
        details=_details(service_request) if service_request else {},
        scope_statement=SCOPE_STATEMENT,
    )


def _details(resource: dict[str, Any]) -> dict[str, Any]:
    """The parts of the ServiceRequest the confirmation lists."""
    order_detail = resource.get("orderDetail") or []
    return {
        "id": resource.get("id"),
        "status": resource.get("status"),
        "patient": (resource.get("subject") or {}).get("display"),
        "physician": ((resource.get("performer") or [{}])[0]).get("display"),
        "visit_type": order_detail[1].get("text") if len(order_detail) > 1 else None,
        "reasons": [r.get("display") for r in resource.get("reasonReference") or []],
    }


def _session() -> LaunchSession:
    svc = services()
    return svc.sessions.active(request.cookies.get(cookie_name(svc.settings)), utcnow())


def _client(session: LaunchSession) -> FhirClient:
    svc = services()
    return FhirClient(
        svc.http.session_for(session.iss), session.iss, session.access_token or "", svc.http.timeout
    )


def _chart(session: LaunchSession) -> Chart:
    if not session.chart_json:
        raise ReferralInvalid(
            "The chart for this form is no longer loaded.",
            "Open the compose page again; nothing was sent.",
        )
    return chart_from_json(session.chart_json)


def _render(
    session: LaunchSession, chart: Chart, form: ComposeForm, errors: dict[str, str] | None = None
) -> str:
    errors = errors or {}
    return render_template(
        "compose.html",
        chart=chart,
        form=form,
        errors=errors,
        csrf_token=session.csrf_token,
        modalities=VISIT_TYPES,
        templates=QUESTION_TEMPLATES,
        scope_statement=SCOPE_STATEMENT,
        warnings=ime_warnings([q for q in form.questions if q.strip()]),
        related={
            p.role_reference: reason
            for p in chart.physicians
            if (reason := related_clinic_reason(chart.requester, p, chart.clinics))
        },
    )
