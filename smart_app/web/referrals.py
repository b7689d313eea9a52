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


def file_awaiting(iss: str, fhir_user: str | None, patient: str | None, access_token: str | None) -> None:
    """At the ATP's launch, file the opinions that waited for it (this patient only: patient/ scopes).

    Called at the callback and on the referral pages; a refusal leaves them waiting, never fails the page.
    """
    if not patient or not fhir_user or not access_token:
        return
    svc = services()
    client = FhirClient(svc.http.for_url(iss), iss, access_token, svc.http.timeout)
    filing = Filing(svc.store, svc.settings.namespace, utcnow)
    filing.file_awaiting(client, iss, fhir_user, f"Patient/{patient}")


def _file_awaiting(launch: Launch) -> None:
    file_awaiting(launch.iss, launch.fhir_user, launch.patient, launch.access_token)


def _launch() -> Launch:
    return current_launch()
