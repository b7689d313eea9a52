"""The ATP's referrals: the list across launches, one referral's page, and "Try again"."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from smart_app.chart.fhir_client import FhirClient
from smart_app.launches import check_csrf
from smart_app.referrals.filing import Filing
from smart_app.referrals.outbox import Outbox
from smart_app.referrals.tracking import Tracking
from smart_app.services import services, utcnow
from smart_app.store import Launch
from smart_app.web.guard import current_launch, protect

bp = Blueprint("referrals", __name__)
protect(bp)  # at import: a blueprint is set up once, however many apps register it


@bp.get("/referrals")
def referral_list() -> str:
    """Every referral this physician sent from this EHR, newest first."""
    launch = _launch()
    _file_awaiting(launch)
    views = Tracking(services().store).list(launch.fhir_user or "", launch.iss)
    return render_template("referrals.html", referrals=views)


@bp.get("/referrals/<referral_id>/status")
def referral_status(referral_id: str) -> str:
    """State, history, each answer under its question, and the reason when delivery failed."""
    launch = _launch()
    _file_awaiting(launch)
    view = Tracking(services().store).one(referral_id, launch.fhir_user or "", launch.iss)
    return render_template("referral.html", referral=view, csrf_token=launch.csrf_token)


@bp.post("/referrals/<referral_id>/retry")
def retry(referral_id: str) -> Response:
    """Put a failed delivery back in the queue (CSRF-protected)."""
    svc, launch = services(), _launch()
    check_csrf(launch, request.form.get("csrf_token"))
    Tracking(svc.store).one(referral_id, launch.fhir_user or "", launch.iss)  # only one's own
    Outbox(svc.store).try_again(referral_id, utcnow())
    return redirect(url_for("referrals.referral_status", referral_id=referral_id), 303)


def _file_awaiting(launch: Launch) -> None:
    """At the ATP's launch, file the opinions that waited for it (this patient only: patient/ scopes)."""
    svc = services()
    if not launch.patient or not launch.fhir_user:
        return
    filing = Filing(svc.store, svc.settings.namespace, utcnow)
    awaiting = filing.awaiting(launch.fhir_user, launch.iss, f"Patient/{launch.patient}")
    if awaiting:
        client = FhirClient(
            svc.http.for_url(launch.iss), launch.iss, launch.access_token or "", svc.http.timeout
        )
        for referral_id in awaiting:
            filing.file(client, referral_id)


def _launch() -> Launch:
    return current_launch()
