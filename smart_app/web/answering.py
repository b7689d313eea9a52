"""The second-opinion physician's pages: the worklist, a referral, accept or decline, answer, sign.

Under the launch key like the ATP's pages, for launches whose role is "physician" (the answering
physician's EHR, ``roles = ["physician"]`` in its registration). Every form carries the launch's
CSRF token; every Task is read, and checked to be this physician's, before anything is done.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from fhir_mappings.codes import DECLINE_REASON_DISPLAY, MMI_STATUS_DISPLAY, WORK_RELATEDNESS_DISPLAY
from fhir_mappings.domain import DECLINE_REASONS
from fhir_mappings.opinion import conclusion_lines
from fhir_mappings.opinion_rules import OpinionIncomplete
from fhir_mappings.task_workflow import accepted_task, on_hold_task, received_task, rejected_task
from smart_app.answering.clinic import clinic_client, current_physician
from smart_app.answering.drafts import Drafts, draft_key
from smart_app.answering.files import record_file, signed_letter
from smart_app.answering.form import draft_from_form, visit_from_form
from smart_app.answering.referral import FHIR_ID, OpenReferral, load_referral, not_found
from smart_app.answering.signing import Signing, sign
from smart_app.answering.steps import Step, take_step
from smart_app.answering.worklist import load_worklist
from smart_app.launches import capabilities, check_csrf
from smart_app.services import services, utcnow
from smart_app.store import Launch
from smart_app.web.guard import current_launch, protect

logger = logging.getLogger(__name__)
bp = Blueprint("answering", __name__)
protect(bp, roles=("physician",))  # at import: a blueprint is set up once, however many apps register it


@bp.get("/start")
def landing() -> WerkzeugResponse:
    """Where the physician's launch lands: the Task the EHR named, else the worklist."""
    task = request.args.get("task", "")
    if FHIR_ID.fullmatch(task):
        return redirect(url_for("answering.referral_page", task_id=task), 303)
    return redirect(url_for("answering.worklist"), 303)


@bp.get("/worklist")
def worklist() -> str:
    """The physician's incoming referrals, newest first, overdue ones marked."""
    launch, client = current_launch(), clinic_client(current_launch())
    physician = current_physician(launch, client)
    rows = load_worklist(client, physician, services().settings.namespace, _today())
    return render_template("worklist.html", rows=rows, physician=physician)


@bp.get("/incoming/<task_id>")
def referral_page(task_id: str) -> str:
    """One referral: scope, details, records, and what can be done with it now."""
    opened = _opened(task_id)
    if opened.incoming.state.status == "requested" and "task-update" in capabilities(current_launch()):
        _step(task_id, lambda task: received_task(task, _instant()), "received")
        opened = _opened(task_id)
    return _render(opened)


@bp.post("/incoming/<task_id>/accept")
def accept(task_id: str) -> WerkzeugResponse | tuple[str, int]:
    """Accept; for in person and telehealth with the visit's date and time."""
    _, opened = _posted(task_id)
    visit: str | None = None
    if opened.incoming.needs_visit_time:
        found = visit_from_form(request.form, services().settings.zone, utcnow())
        if isinstance(found, dict):
            return _render(opened, errors=found), 422
        visit = found
    ns = services().settings.namespace
    _step(task_id, lambda task: accepted_task(task, _instant(), ns, visit), "accept")
    return _back(task_id)


@bp.post("/incoming/<task_id>/decline")
def decline(task_id: str) -> WerkzeugResponse | tuple[str, int]:
    """Decline with one of the coded reasons and, optionally, the physician's words."""
    _, opened = _posted(task_id)
    reason = next((r for r in DECLINE_REASONS if r == request.form.get("reason")), None)
    note = request.form.get("note", "").strip()
    if reason is None or len(note) > 2000:
        problem = ("reason", "Choose why you decline.") if reason is None else (
            "note", "Keep the explanation under 2,000 characters.")  # fmt: skip
        return _render(opened, errors=dict([problem])), 422
    ns = services().settings.namespace
    _step(task_id, lambda task: rejected_task(task, _instant(), reason, note, ns), "decline")
    return _back(task_id)


@bp.post("/incoming/<task_id>/hold")
def ask_for_records(task_id: str) -> WerkzeugResponse | tuple[str, int]:
    """Ask the referring physician for more records: the Task waits on hold with the request."""
    launch, opened = _posted(task_id)
    note = request.form.get("records_note", "").strip()
    if not note or len(note) > 2000:
        needed = {"records_note": "Say which records you need (in under 2,000 characters)."}
        return _render(opened, errors=needed), 422
    physician = current_physician(launch, clinic_client(launch))
    author = {"reference": physician.reference, "display": physician.name}
    ns = services().settings.namespace
    _step(task_id, lambda task: on_hold_task(task, _instant(), note, author, ns), "hold")
    return _back(task_id)


@bp.post("/incoming/<task_id>/draft")
def save_draft(task_id: str) -> WerkzeugResponse:
    """Keep what was typed (the page's script calls this as the physician types)."""
    _, opened = _posted(task_id)
    saved = _keep_draft(opened)
    if request.accept_mimetypes.best == "application/json":
        return Response('{"saved":%s}' % ("true" if saved else "false"), mimetype="application/json")
    return redirect(url_for("answering.referral_page", task_id=task_id, saved=1, _anchor="opinion"), 303)


@bp.post("/incoming/<task_id>/sign")
def sign_opinion(task_id: str) -> WerkzeugResponse | tuple[str, int]:
    """Sign: the attestation, then the letter, the completed Task and the Provenance at the clinic."""
    launch, opened = _posted(task_id)
    _keep_draft(opened)  # first: nothing typed is lost, whatever happens next
    if request.form.get("attest") != "yes":
        return _render(opened, errors={"attest": "Confirm that you render an opinion only."}), 422
    drafts, key = Drafts(services().store), draft_key(launch.iss, task_id, launch.fhir_user or "")
    if not drafts.claim_signing(key, utcnow()):
        return _back(task_id)  # a double submit: the first one is signing, or has signed
    try:
        letter = sign(_signing(task_id), draft_from_form(request.form, len(opened.incoming.questions)))
    except OpinionIncomplete as incomplete:
        drafts.release(key)
        return _render(opened, errors=incomplete.errors), 422
    except BaseException:
        drafts.release(key)
        raise
    drafts.signed(key, letter, utcnow())
    return _back(task_id)


@bp.get("/incoming/<task_id>/records/<int:record>/files/<int:file>")
def review_file(task_id: str, record: int, file: int) -> Response:
    """One file of a record shared for review, from the clinic's own server."""
    return record_file(_opened(task_id), record, file)


@bp.get("/incoming/<task_id>/opinion.pdf")
def opinion_letter(task_id: str) -> Response:
    """The signed opinion letter, as the clinic holds it."""
    opened = _opened(task_id)
    return signed_letter(clinic_client(current_launch()), opened)


def _opened(task_id: str) -> OpenReferral:
    launch = current_launch()
    client = clinic_client(launch)
    physician = current_physician(launch, client)
    return load_referral(client, physician, task_id, services().settings.namespace, _today())


def _posted(task_id: str) -> tuple[Launch, OpenReferral]:
    launch = current_launch()
    check_csrf(launch, request.form.get("csrf_token"))
    if not FHIR_ID.fullmatch(task_id):
        raise not_found()
    return launch, _opened(task_id)


def _step(task_id: str, step: Step, name: str) -> None:
    launch = current_launch()
    client = clinic_client(launch)
    take_step(client, current_physician(launch, client), task_id, services().settings.namespace, step, name)


def _keep_draft(opened: OpenReferral) -> bool:
    launch = current_launch()
    draft = draft_from_form(request.form, len(opened.incoming.questions))
    key = draft_key(launch.iss, opened.incoming.task_id, launch.fhir_user or "")
    return Drafts(services().store).save(key, launch.iss, opened.incoming.task_id, draft, utcnow())


def _signing(task_id: str) -> Signing:
    launch = current_launch()
    client = clinic_client(launch)
    return Signing(client, current_physician(launch, client), task_id, services().settings.namespace,
                   utcnow(), services().settings.zone, "signature" in capabilities(launch))  # fmt: skip


def _render(opened: OpenReferral, errors: dict[str, str] | None = None) -> str:
    launch = current_launch()
    key = draft_key(launch.iss, opened.incoming.task_id, launch.fhir_user or "")
    kept = Drafts(services().store).load(key)
    draft = kept.draft if kept else None
    if errors and request.method == "POST":
        draft = draft_from_form(request.form, len(opened.incoming.questions))
    return render_template(
        "incoming.html", referral=opened.incoming, records=opened.records, errors=errors or {},
        draft=draft, kept=kept, csrf_token=launch.csrf_token, granted=capabilities(launch),
        decline_reasons=DECLINE_REASON_DISPLAY, mmi_choices=MMI_STATUS_DISPLAY,
        relatedness_choices=WORK_RELATEDNESS_DISPLAY, saved=request.args.get("saved") == "1",
        posted=request.form if request.method == "POST" else {}, conclusion_lines=conclusion_lines,
    )  # fmt: skip


def _back(task_id: str) -> WerkzeugResponse:
    return redirect(url_for("answering.referral_page", task_id=task_id), 303)


def _today() -> date:
    return utcnow().astimezone(services().settings.zone).date()


def _instant() -> str:
    return utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z")
