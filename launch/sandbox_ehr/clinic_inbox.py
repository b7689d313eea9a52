"""The receiving clinic's inbox (sandbox only): the second-opinion physician answers a referral.

Task workflow: https://hl7.org/fhir/R4/task.html#statemachine. The page reads and writes the
clinic's own store in-process; the app reads the result through the clinic's FHIR API.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .clinic_letter import LetterInvalid, letter_from_form
from .clinic_records import SHOWN_INLINE, shared_file, shared_records
from .clinic_services import check_csrf, clinic
from .clinic_store import ClinicStore, Physician, VersionConflict
from .clinic_tasks import (
    TRANSITIONS,
    TaskConflict,
    completed_task,
    opinion_document,
    questions_from_task,
    task_with_status,
)
from .fhir_codes import Json

logger = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__, url_prefix="/inbox")
MAX_ANSWER = 10_000
# a PDF or image shown by the browser itself: nothing else may load, nothing may frame it
FILE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'"


@bp.get("")
def inbox() -> str:
    """The referral Tasks of the chosen physician (or of all the clinic's), newest first."""
    store = clinic().store
    physicians = store.physicians()
    chosen = request.args.get("physician", "")
    if chosen and chosen not in physicians:
        abort(404, "That physician does not work at this clinic. Choose one from the list.")
    tasks = store.referral_tasks([chosen] if chosen else list(physicians))
    return render_template("inbox.html", physicians=physicians, chosen=chosen, tasks=tasks)


@bp.get("/tasks/<task_id>")
def task_page(task_id: str) -> str:
    """One referral: questions, scope, patient, reasons, and the buttons its status allows."""
    task, physician = _task_and_physician(task_id, request.args.get("physician", ""))
    return _render(task, physician, {}, [])


@bp.get("/tasks/<task_id>/records/<int:record>/files/<int:file>")
def record_file(task_id: str, record: int, file: int) -> Response:
    """One file of a record the referral shares: its own content type; a PDF or an image is
    shown, anything else is downloaded, and nothing in it may run (CSP sandbox)."""
    task, _ = _task_and_physician(task_id, "")
    store = clinic().store
    found = shared_file(store, store.read_reference(task.get("focus"), "ServiceRequest") or {},
                        record, file)
    if found is None:
        abort(404, "This referral shares no such file.")
    data, content_type, name = found
    shown = content_type.split(";")[0].strip().lower() in SHOWN_INLINE
    response = Response(data, status=200, content_type=content_type)
    disposition = "inline" if shown else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["Content-Security-Policy"] = FILE_CSP if shown else f"{FILE_CSP}; sandbox"
    logger.info("inbox.file task=%s", task["id"])
    return response


@bp.post("/tasks/<task_id>/<action>")
def act(task_id: str, action: str) -> Response | tuple[str, int]:
    """Mark received, accept, reject (with a reason), start, or complete with answers and letter."""
    check_csrf(request.form.get("csrf_token"))
    if action not in TRANSITIONS:
        abort(404, "There is no such action on a referral.")
    task, physician = _task_and_physician(task_id, request.form.get("physician", ""), True)
    now = _now()
    try:
        if action == "complete":
            return _complete(task, physician, now)
        reason = request.form.get("reason", "")
        if action == "reject" and not reason.strip():
            errors = {"reason": "Give the reason for rejecting."}
            return _render(task, physician, errors, []), 422
        clinic().store.update(task_with_status(task, action, now, reason))
    except (TaskConflict, VersionConflict):
        abort(409, "This referral changed meanwhile or is not ready for that step. Reload it.")
    logger.info("inbox.task id=%s action=%s", task["id"], action)
    return _back(task["id"], physician)


def _complete(task: Json, physician: Physician, now: str) -> Response | tuple[str, int]:
    """Check every answer and the letter, then write the DocumentReference and the Task."""
    namespace = clinic().namespace
    count = len(questions_from_task(task, namespace))
    answers = [request.form.get(f"answer-{n}", "").strip() for n in range(1, count + 1)]
    errors = {
        f"answer-{n}": "Answer this question." if not answer else "This answer is too long."
        for n, answer in enumerate(answers, start=1)
        if not answer or len(answer) > MAX_ANSWER
    }
    try:
        letter = letter_from_form(request.form.get("letter_text", ""),
                                  request.files.get("letter_file"))
    except LetterInvalid as invalid:
        errors["letter"] = str(invalid)
    if errors:
        return _render(task, physician, errors, answers), 422
    document = opinion_document(task, letter, physician.practitioner, now)
    clinic().store.complete(
        document, lambda doc_id: completed_task(task, answers, doc_id, namespace, now)
    )
    logger.info("inbox.task id=%s action=complete", task["id"])
    return _back(task["id"], physician)


def _task_and_physician(task_id: str, physician_id: str, acting: bool = False
                        ) -> tuple[Json, Physician]:
    """The clinic's referral Task and the physician looking at it; plain 404/403 otherwise."""
    store = clinic().store
    task = store.read("Task", task_id)
    physicians = store.physicians()
    owner = str(((task or {}).get("owner") or {}).get("reference", "")).removeprefix(
        "PractitionerRole/")
    if task is None or owner not in physicians:
        abort(404, "There is no referral with that number in this clinic's inbox.")
    if acting and physician_id != owner:
        abort(403, "This referral is addressed to another physician. Choose them in the list.")
    return task, physicians[physician_id if physician_id in physicians else owner]


def _render(task: Json, physician: Physician, errors: dict[str, str], answers: list[str]) -> str:
    """The Task page with what the clinic's store holds about the referral."""
    store: ClinicStore = clinic().store
    request_ = store.read_reference(task.get("focus"), "ServiceRequest") or {}
    reasons = [
        _condition_text(store.read_reference(ref, "Condition"), ref)
        for ref in request_.get("reasonReference") or []
    ]
    return render_template(
        "inbox_task.html", task=task, physician=physician, errors=errors, answers=answers,
        questions=questions_from_task(task, clinic().namespace),
        scope=_scope(request_), reasons=reasons, records=shared_records(store, request_),
        patient=store.read_reference(task.get("for"), "Patient") or {},
    )


def _scope(service_request: Json) -> list[str]:
    """The scope the ATP wrote: orderDetail texts and the notes that are not questions."""
    details = [str(d.get("text", "")) for d in service_request.get("orderDetail") or []]
    notes = [str(n.get("text", "")) for n in service_request.get("note") or []]
    return [text for text in details + notes if text and not text.startswith("Question ")]


def _condition_text(condition: Json | None, reference: Json) -> str:
    """The Condition's code text, else the reference's display."""
    code: dict[str, Any] = (condition or {}).get("code") or {}
    codings = code.get("coding") or [{}]
    return str(code.get("text") or codings[0].get("display") or reference.get("display") or "—")


def _back(task_id: str, physician: Physician) -> Response:
    """See-other back to the Task page."""
    target = url_for("inbox.task_page", task_id=task_id, physician=physician.id)
    return redirect(target, code=303)


def _now() -> str:
    """Now as a FHIR instant in UTC."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
