"""The ATP's referrals: the list across launches (with a search by referral number), one page per referral,
and the clinic's opinion letter. Who sees what is in smart_app/referrals/tracking.py."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from fhir_mappings.codes import MODALITY_DISPLAY, SCOPE_STATEMENT
from fhir_mappings.opinion import opinion_attachment
from fhir_mappings.referral_number import referral_number_from_id, referral_number_from_text
from smart_app.chart.fhir_client import FhirClient
from smart_app.errors import ReferralNotFound
from smart_app.referrals.filing import Filing
from smart_app.referrals.ledger import ReferralLedger
from smart_app.referrals.tracking import ReferralView, Tracking
from smart_app.services import services, utcnow
from smart_app.store import Launch
from smart_app.web.guard import current_launch, protect

logger = logging.getLogger(__name__)
bp = Blueprint("referrals", __name__)
protect(bp)  # at import: a blueprint is set up once, however many apps register it


@bp.get("/referrals")
def referral_list() -> str:
    """Every referral this physician sent from this EHR, newest first; ``number`` finds one."""
    launch = _launch()
    _file_awaiting(launch)
    typed = request.args.get("number", "").strip()[:40]
    number = referral_number_from_text(typed) if typed else None
    views = tracking().list(launch.fhir_user or "", launch.iss, utcnow(), number if typed else None)
    return render_template("referrals.html", referrals=views, typed=typed, number=number)


@bp.get("/referrals/<referral_id>")
def referral_page(referral_id: str) -> str:
    """The referral's one page: stage, history, answers beside their questions, the letters, the actions."""
    launch = _launch()
    _file_awaiting(launch)
    try:
        view = tracking().one(referral_id, launch.fhir_user or "", launch.iss, utcnow())
    except ReferralNotFound:
        return _being_sent(launch, referral_id)
    modality = view.summary.get("modality")
    return render_template(
        "referral.html", referral=view, csrf_token=launch.csrf_token, writable=is_this_patient(launch, view),
        sent=request.args.get("sent") == "1", scope_statement=SCOPE_STATEMENT,
        visit_type=next((text for code, text in MODALITY_DISPLAY.items() if code == modality), ""),
    )  # fmt: skip


@bp.get("/referrals/<referral_id>/status")
def referral_status(referral_id: str) -> BaseResponse:
    """The old tracking page's address: one page per referral now."""
    return redirect(url_for("referrals.referral_page", referral_id=referral_id), 301)


@bp.get("/referrals/<referral_id>/opinion")
def opinion_letter(referral_id: str) -> Response:
    """The clinic's signed opinion letter, opened in the browser (``?download=1``: saved)."""
    launch = _launch()
    view = tracking().one(referral_id, launch.fhir_user or "", launch.iss, utcnow())
    served = opinion_attachment(view.result.get("opinion"))
    if served is None:
        raise ReferralNotFound("The clinic has not attached an opinion letter Second Opinion can open.",
                               "The answers are on the referral's page.")  # fmt: skip
    content_type, data = served
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    extension = "pdf" if content_type == "application/pdf" else "txt"
    response = Response(data, content_type=content_type)
    name = f"second-opinion-{view.number}.{extension}"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    # A file from another system loads nothing, runs nothing (text: a sandbox) and is never framed;
    # the app's after_request keeps this policy and adds nosniff.
    sandbox = "" if extension == "pdf" else "sandbox; "
    response.headers["Content-Security-Policy"] = f"{sandbox}default-src 'none'; frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    logger.info("referral.opinion_letter id=%s", view.id)
    return response


def _being_sent(launch: Launch, referral_id: str) -> str:
    """A referral this launch is still writing to the EHR: not in the outbox yet."""
    ledger = ReferralLedger(services().store).status(referral_id, launch.id)  # ReferralNotFound if not ours
    return render_template("being_sent.html", number=referral_number_from_id(ledger.id))


def is_this_patient(launch: Launch, view: ReferralView) -> bool:
    """Whether this launch is for the referral's patient: writes to the EHR need that launch."""
    patient = tracking().patient_of(view.id, launch.fhir_user or "", launch.iss)
    return bool(launch.patient) and patient == f"Patient/{launch.patient}"


def tracking() -> Tracking:
    """The current app's reader of referrals."""
    return Tracking(services().store, services().settings.namespace)


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
