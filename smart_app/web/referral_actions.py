"""What the ATP does to a referral after sending: try again, cancel, send to another physician, add records.

Each action is allowed only when the referral's lifecycle says so. Those that write to the EHR
with the ATP's token (cancel, re-route, add records) need a launch for the referral's own patient;
from another launch the page says to open that patient's chart (docs/delivery.md, "Who sees a
referral"). Every form carries the launch's CSRF token.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fhir_mappings.codes import ACCREDITATION_DISPLAY, MODALITY_DISPLAY
from fhir_mappings.directory_search import DirectoryQuery, directory_rows
from fhir_mappings.domain import MODALITIES, Physician, Replaced
from fhir_mappings.provenance import provenance_from_status_change
from fhir_mappings.referral_lifecycle import Action
from fhir_mappings.referral_number import referral_number_from_id
from smart_app.chart.breaker import guards
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import Chart
from smart_app.chart.records import shared_records
from smart_app.errors import EhrError, ReferralInvalid, SmartAppError
from smart_app.launches import capabilities, check_csrf
from smart_app.referrals.again import chosen_physician, referral_again
from smart_app.referrals.filing import requester_from_summary, update_with_provenance
from smart_app.referrals.outbox import Outbox
from smart_app.referrals.routing import receiver_for_referral
from smart_app.referrals.sending import send_now
from smart_app.referrals.tracking import ReferralView
from smart_app.services import services, utcnow
from smart_app.store import Launch
from smart_app.web.compose import kept_chart
from smart_app.web.guard import current_launch, protect
from smart_app.web.referrals import is_this_patient, tracking

logger = logging.getLogger(__name__)
bp = Blueprint("referral_actions", __name__)
protect(bp)  # at import: a blueprint is set up once, however many apps register it

REFERRAL_ID = re.compile(r"[0-9a-f]{32}")
MAX_REASON = 500


class NotNow(SmartAppError):
    """The referral's stage does not allow this action, or this launch is for another patient."""

    status, code, title = 409, "conflict", "This cannot be done now"


@bp.post("/referrals/<referral_id>/retry")
def retry(referral_id: str) -> Response:
    """Put a failed delivery back in the queue."""
    _allowed(referral_id, "try-again", needs_patient=False)
    Outbox(services().store).try_again(referral_id, utcnow())
    return _back(referral_id)


@bp.post("/referrals/<referral_id>/cancel")
def cancel(referral_id: str) -> Response:
    """Revoke the EHR's ServiceRequest now (ATP's token, with a Provenance); the worker cancels the Task."""
    launch, view = _allowed(referral_id, "cancel")
    reason = " ".join(request.form.get("reason", "").split())
    if not reason or len(reason) > MAX_REASON:
        raise ReferralInvalid(f"Say why you cancel the referral, in at most {MAX_REASON} characters.",
                              "Go back to the referral's page; nothing was cancelled.")  # fmt: skip
    client = _client(launch)
    order = client.read("ServiceRequest", view.service_request_id)
    if order.get("status") != "revoked":
        requester = requester_from_summary(view.summary)
        provenance = None
        if requester is not None and "provenance" in capabilities(launch):
            target, now = f"ServiceRequest/{view.service_request_id}", utcnow().isoformat(timespec="seconds")
            provenance = provenance_from_status_change(target, requester, now.replace("+00:00", "Z"),
                                                       services().settings.namespace)  # fmt: skip
        update_with_provenance(client, {**order, "status": "revoked"}, provenance)
    Outbox(services().store).cancel(referral_id, reason, utcnow())
    logger.info("referral.cancelled id=%s", referral_id)
    return _back(referral_id)


@bp.get("/referrals/<referral_id>/reroute")
def reroute_page(referral_id: str) -> str:
    """Choose another physician for a declined referral: the directory with the composer's rules."""
    launch, view = _allowed(referral_id, "reroute")
    return _reroute_form(launch, view, _chart(launch), None)


@bp.post("/referrals/<referral_id>/reroute")
def reroute(referral_id: str) -> Response | tuple[str, int]:
    """A new ServiceRequest (replaces → the declined one) and delivery for the chosen physician."""
    launch, view = _allowed(referral_id, "reroute")
    chart, new_id = _chart(launch), request.form.get("referral_id", "")
    if not REFERRAL_ID.fullmatch(new_id):
        raise ReferralInvalid("The form was damaged in transit.", "Reload the page and try again.")
    now = utcnow()
    try:
        modality = next((m for m in MODALITIES if m == view.summary.get("modality")), None)
        physician = chosen_physician(chart, request.form.get("physician", ""),
                                     request.form.get("acknowledge") == "yes", now, modality)  # fmt: skip
        replaced = Replaced(view.id, f"ServiceRequest/{view.service_request_id}")
        referral = referral_again(view.summary, chart, referral_id=new_id, physician=physician,
                                  authored_on=now, replaces=replaced)  # fmt: skip
        referral = replace(referral, encounter=f"Encounter/{launch.encounter}" if launch.encounter else None)
        receiver = receiver_for_referral(referral, services().receivers)
        send_now(_client(launch), launch, referral, receiver, "provenance" in capabilities(launch))
    except (ReferralInvalid, EhrError) as refused:
        return _reroute_form(launch, view, chart, refused.message), refused.status
    Outbox(services().store).rerouted(view.id, new_id, referral_number_from_id(new_id), utcnow())
    logger.info("referral.rerouted id=%s to=%s", view.id, new_id)
    return redirect(url_for("referrals.referral_page", referral_id=new_id, sent="1"), 303)


@bp.get("/referrals/<referral_id>/records")
def records_page(referral_id: str) -> str:
    """The physician's request and the patient's records to pick from, as the composer lists them."""
    launch, view = _allowed(referral_id, "add-records")
    return _records_form(view, _chart(launch), None, [])


@bp.post("/referrals/<referral_id>/records")
def add_records(referral_id: str) -> Response | tuple[str, int]:
    """Read the chosen records again with the ATP's token; the worker delivers them to the clinic."""
    launch, view = _allowed(referral_id, "add-records")
    chart, chosen = _chart(launch), request.form.getlist("record")
    records = tuple(r for r in chart.records if r.reference in set(chosen))
    if not records or len(records) != len(set(chosen)):
        words = "Choose at least one record from this patient's chart."
        return _records_form(view, chart, words, chosen), 422
    try:
        performer = view.summary.get("performer") or {}
        physician = Physician(str(performer.get("reference", "")), "", str(performer.get("display", "")))
        referral = referral_again(view.summary, chart, referral_id=view.id, authored_on=utcnow(),
                                  physician=physician, records=records)  # fmt: skip
        resources = shared_records(_client(launch), referral, services().settings.namespace)
    except (ReferralInvalid, EhrError) as refused:
        return _records_form(view, chart, refused.message, chosen), refused.status
    pending = {"iss": launch.iss, "resources": list(resources),
               "records": [{"reference": r.reference, "kind": r.kind, "title": r.title} for r in records]}
    Outbox(services().store).add_records(view.id, pending, "; ".join(r.title for r in records), utcnow())
    logger.info("referral.records_added id=%s count=%s", view.id, len(records))
    return _back(referral_id)


def _allowed(referral_id: str, action: Action, needs_patient: bool = True) -> tuple[Launch, ReferralView]:
    """The launch and referral, if the lifecycle allows ``action`` and (for writes) this is its patient."""
    launch = current_launch()
    if request.method == "POST":
        check_csrf(launch, request.form.get("csrf_token"))
    view = tracking().one(referral_id, launch.fhir_user or "", launch.iss, utcnow())
    if not view.lifecycle.allows(action):
        raise NotNow(f"This referral is “{view.lifecycle.headline}”: that cannot be done now.",
                     "Go back to the referral's page to see what can be done.")  # fmt: skip
    if needs_patient and not is_this_patient(launch, view):
        raise NotNow(f"To do this, open {view.summary.get('patient') or 'this patient'}'s chart in the EHR "
                     "and launch Second Opinion from there.", "Nothing was changed.")  # fmt: skip
    return launch, view


def _chart(launch: Launch) -> Chart:
    chart = kept_chart(launch)
    if chart is None:
        raise NotNow("The patient's chart is not loaded in this Second Opinion window.",
                     "Launch Second Opinion again from the patient's chart; nothing changed.")  # fmt: skip
    return chart


def _reroute_form(launch: Launch, view: ReferralView, chart: Chart, error: str | None) -> str:
    modality = next((m for m in MODALITIES if m == view.summary.get("modality")), None)
    declined = str(view.summary.get("performer", {}).get("reference", ""))
    rows = [row for row in directory_rows(chart.physicians, chart.requester, chart.clinics, DirectoryQuery(),
                                          utcnow().date(), modality)
            if row.physician.role_reference != declined]  # fmt: skip
    new_id, chosen = request.form.get("referral_id") or uuid.uuid4().hex, request.form.get("physician", "")
    return render_template("reroute.html", referral=view, rows=rows, error=error, new_id=new_id,
                           csrf_token=launch.csrf_token, chosen=chosen, modalities=MODALITY_DISPLAY,
                           accreditations=ACCREDITATION_DISPLAY)  # fmt: skip


def _records_form(view: ReferralView, chart: Chart, error: str | None, chosen: list[str]) -> str:
    return render_template("add_records.html", referral=view, records=chart.records, error=error,
                           chosen=chosen, csrf_token=current_launch().csrf_token)  # fmt: skip


def _client(launch: Launch) -> FhirClient:
    """The EHR with the ATP's token (the breaker guards it as for the composer)."""
    svc = services()
    return FhirClient(svc.http.for_url(launch.iss), launch.iss, launch.access_token or "", svc.http.timeout,
                      guards().for_base(launch.iss))  # fmt: skip


def _back(referral_id: str) -> Response:
    return redirect(url_for("referrals.referral_page", referral_id=referral_id), 303)
