"""Compose a second-opinion referral and send it to the EHR as a ServiceRequest with its Provenance."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fhir_mappings.codes import ACCREDITATION_DISPLAY, MODALITY_DISPLAY, SCOPE_STATEMENT
from fhir_mappings.domain import Referral
from fhir_mappings.ime_guard import IME_DIFFERENCE
from fhir_mappings.rules import (
    MAX_QUESTION_LENGTH,
    MAX_QUESTIONS,
    QUESTION_TEMPLATE_TOPICS,
    default_due_date,
)
from fhir_mappings.service_request import service_request_from_referral
from smart_app.capabilities import BY_NAME, missing_notices
from smart_app.cds.app_context import suggested_form
from smart_app.chart.breaker import guards
from smart_app.chart.directory import load_directory
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import SKIPPABLE, Chart, chart_from_json, chart_to_json, load_chart
from smart_app.chart.records import shared_records
from smart_app.errors import EhrError, ReferralInvalid
from smart_app.launches import capabilities, check_csrf
from smart_app.referrals.earlier import earlier_referrals
from smart_app.referrals.form import ComposeForm, FormInvalid, referral_from_form
from smart_app.referrals.ledger import ReferralLedger
from smart_app.referrals.receivers import Receiver
from smart_app.referrals.routing import new_delivery, receiver_for_referral
from smart_app.referrals.send import SendOutcome, write_referral
from smart_app.services import services, utcnow
from smart_app.store import Launch
from smart_app.web.compose_view import page_fields
from smart_app.web.embedding import has_ehr_style, launch_context, needs_patient_banner
from smart_app.web.guard import current_launch, protect

logger = logging.getLogger(__name__)
bp = Blueprint("compose", __name__)
protect(bp)  # at import: a blueprint is set up once, however many apps register it

# shown at the top, before the ATP types
NOTICED = ("send", "coverage", "conditions", "documents", "reports", "confirm", "provenance")
# where the page lands after a button without JavaScript (the question buttons land on their box)
FOCUS = {"search": "physician-results", "preview": "preview-title", "filter-conditions": "find-condition",
         "check-physician": "physician-notes-title"}
CHART_FRESH = timedelta(seconds=30)  # the chart the callback read serves the compose page this long
NO_REQUESTER = ("No requester was given, so a referral cannot say who asks for the opinion. "
                "Open the patient again with your Practitioner id to send one.")

@bp.get("/compose")
def compose_page() -> str:
    """Show an empty form on the chart: the one the callback just read, else one batch now."""
    launch = _launch()
    chart = _fresh_chart(launch)
    if chart is None:
        chart = read_chart(launch.iss, launch.access_token or "", launch.patient or "",
                           launch.fhir_user or "", capabilities(launch))  # fmt: skip
        services().launches.save_chart(launch.id, chart_to_json(chart), utcnow())
    form = ComposeForm(referral_id=uuid.uuid4().hex, patient=chart.patient.reference)
    form, suggested = suggested_form(form, chart, launch_context(launch))  # a CDS card's appContext
    return _render(launch, chart, form, suggested=suggested)


def read_chart(iss: str, access_token: str, patient: str, fhir_user: str, granted: frozenset[str]) -> Chart:
    """Read the chart (one batch), and the directory when it is another server than the EHR."""
    namespace = services().settings.namespace
    chart = load_chart(
        _client_for(iss, access_token), patient, fhir_user, namespace, skip=SKIPPABLE - granted
    )
    if services().settings.directory_url:  # else the chart's batch already read the EHR's
        directory = load_directory(_directory_client(), namespace)
        chart = replace(
            chart, physicians=directory.physicians, clinics={**directory.clinics, **chart.clinics}
        )
    return chart


def _fresh_chart(launch: Launch) -> Chart | None:
    """The chart kept with the launch if it was read moments ago (at the callback): not read twice."""
    if launch.chart_read_at is None or utcnow() - launch.chart_read_at >= CHART_FRESH:
        return None
    return kept_chart(launch)


@bp.post("/compose")
def compose_step() -> tuple[str, int]:
    """The form's own buttons: add, remove or move a question, search the directory, preview;
    the page comes back with focus where the button acted (the new or moved box, the section)."""
    launch = _launch()
    check_csrf(launch, request.form.get("csrf_token"))
    form = ComposeForm.from_form(request.form)
    action = request.form.get("action", "")
    box = form.apply(action, request.form.get("template", ""))
    focus = f"question-{box + 1}" if box is not None else FOCUS.get(action, "")
    if action == "visit-type":
        focus = {"record-review": "records", "": "modality-select"}.get(form.modality, "window-start")
    return _render(launch, _chart(launch), form, focus=focus), 200


@bp.post("/referrals")
def send_referral() -> Response | tuple[str, int]:
    """Validate, write the ServiceRequest and its Provenance in one transaction, confirm."""
    svc, launch = services(), _launch()
    check_csrf(launch, request.form.get("csrf_token"))
    chart, form, now = _chart(launch), ComposeForm.from_form(request.form), utcnow()
    if "send" not in capabilities(launch):
        return _render(launch, chart, form, {"send": BY_NAME["send"].missing}), 403
    try:
        referral = replace(referral_from_form(form, chart, now), encounter=_encounter(launch))
        receiver = receiver_for_referral(referral, svc.receivers)  # never contacted if unregistered
    except FormInvalid as invalid:
        return _render(launch, chart, form, invalid.errors), 422
    except ReferralInvalid as unroutable:
        return _render(launch, chart, form, {"send": unroutable.message}), 422
    ledger = ReferralLedger(svc.store)
    if ledger.claim(referral.id, launch.id, launch.iss, now) == "send":
        refused = _send(launch, referral, receiver)
        if refused is not None:
            ledger.release(referral.id)  # a retry is safe: the create is conditional on our identifier
            return _render(launch, chart, form, refused[0]), refused[1]
    return redirect(url_for("referrals.referral_page", referral_id=referral.id, sent="1"), 303)


def _send(launch: Launch, referral: Referral, receiver: Receiver) -> tuple[dict[str, str], int] | None:
    """Read the shared records, write to the EHR, queue the delivery; the errors to show if not sent."""
    svc, client = services(), _client(launch)
    try:
        records = shared_records(client, referral, svc.settings.namespace)  # before anything is written
    except ReferralInvalid as refused:
        return {"records": refused.message}, refused.status
    except EhrError as error:
        logger.warning("referral.records_unread id=%s error=%s", referral.id, type(error).__name__)
        return {"send": SendOutcome("not-sent", error=error).message}, error.status
    with_provenance = "provenance" in capabilities(launch)
    service_request = service_request_from_referral(referral, svc.settings.namespace)  # once per send
    outcome = write_referral(
        client, referral, service_request, svc.settings.namespace, with_provenance=with_provenance
    )
    if outcome.state != "sent" or outcome.service_request_id is None:
        logger.warning("referral.%s id=%s", outcome.state, referral.id)
        status = outcome.error.status if outcome.error else (202 if outcome.state == "unknown" else 502)
        return {"send": outcome.message}, status
    delivery = new_delivery(
        referral, receiver, iss=launch.iss, fhir_user=launch.fhir_user or "",
        service_request_id=outcome.service_request_id, namespace=svc.settings.namespace, records=records,
        service_request=service_request,
    )  # fmt: skip
    ReferralLedger(svc.store).mark_sent(referral.id, outcome.service_request_id, utcnow(), delivery)
    logger.info("referral.created id=%s", referral.id)
    return None


def _launch() -> Launch:
    return current_launch()


def _encounter(launch: Launch) -> str | None:
    """The launch's encounter as "Encounter/id", when the EHR gave one (US Core: must support)."""
    return f"Encounter/{launch.encounter}" if launch.encounter else None


def _client(launch: Launch) -> FhirClient:
    return _client_for(launch.iss, launch.access_token or "")


def _client_for(iss: str, access_token: str) -> FhirClient:
    svc = services()
    return FhirClient(svc.http.for_url(iss), iss, access_token, svc.http.timeout, guards().for_base(iss))


def _directory_client() -> FhirClient:
    """A directory server other than the EHR: its own bearer (if any), never the ATP's token."""
    svc = services()
    url = svc.settings.directory_url
    return FhirClient(svc.http.for_url(url), url, svc.settings.directory_bearer, svc.http.timeout)


def kept_chart(launch: Launch) -> Chart | None:
    """The chart this launch read at compose time, if it is still kept."""
    kept = services().launches.chart_json(launch.id)
    return chart_from_json(kept) if kept else None


def _chart(launch: Launch) -> Chart:
    chart = kept_chart(launch)
    if chart is None:
        raise ReferralInvalid(
            "The chart for this form is no longer loaded.",
            "Open the compose page again; nothing was sent.",
        )
    return chart


def _render(
    launch: Launch, chart: Chart, form: ComposeForm, errors: dict[str, str] | None = None,
    focus: str = "", suggested: bool = False,
) -> str:
    today = utcnow().date()
    svc = services()
    earlier = earlier_referrals(svc.store, svc.settings.namespace, launch.iss, chart.patient.reference,
                                launch.fhir_user or "", utcnow())
    return render_template(
        "compose.html",
        chart=chart,
        form=form,
        errors=errors or {},
        focus=focus,
        notices=missing_notices(capabilities(launch), NOTICED) + ([] if launch.fhir_user else [NO_REQUESTER]),
        granted=capabilities(launch),
        patient_banner=needs_patient_banner(launch),
        ehr_style=has_ehr_style(launch),
        can_send="send" in capabilities(launch),
        cannot_send=BY_NAME["send"].missing,
        csrf_token=launch.csrf_token,
        modalities=MODALITY_DISPLAY,
        accreditations=ACCREDITATION_DISPLAY,
        templates=QUESTION_TEMPLATE_TOPICS,
        max_questions=MAX_QUESTIONS,
        max_length=MAX_QUESTION_LENGTH,
        scope_statement=SCOPE_STATEMENT,
        ime_difference=IME_DIFFERENCE,
        default_due=default_due_date(today, None).isoformat(),
        today=today.isoformat(),
        suggested=suggested,
        **page_fields(chart, form, request.form, today, earlier),
    )
