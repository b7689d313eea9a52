"""The receiving clinic's side of a referral Task: status changes, answers and the opinion letter.

Pure functions on FHIR JSON (no store, no clock): the inbox views read, call these, and write.
Task workflow: https://hl7.org/fhir/R4/task.html#statemachine; codes from the shared code table.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass

from .fhir_codes import DOC_CATEGORY, Json, coding

LOINC = "http://loinc.org"
CONSULT_NOTE = coding(LOINC, "11488-4", "Consult note")
CLINICAL_NOTE = coding(DOC_CATEGORY, "clinical-note", "Clinical Note")
LETTER_TITLE = "Second opinion letter"
LETTER_TYPES = ("text/plain", "application/pdf")

# which status each action starts from, and the status it leads to (Task state machine)
TRANSITIONS: dict[str, tuple[str, str]] = {
    "receive": ("requested", "received"),
    "accept": ("received", "accepted"),
    "reject": ("received", "rejected"),
    "start": ("accepted", "in-progress"),
    "complete": ("in-progress", "completed"),
}


class TaskConflict(Exception):
    """The action does not fit the Task's current status."""


@dataclass(frozen=True)
class Letter:
    """The opinion letter as the physician gave it: bytes and their media type."""

    content_type: str
    data: bytes


def task_io_system(namespace: str) -> str:
    """Our local CodeSystem for Task.input/output types."""
    return f"{namespace}/CodeSystem/task-io"


def questions_from_task(task: Json, namespace: str) -> list[str]:
    """The questions, in order: Task.input of type task-io|question (valueString)."""
    system = task_io_system(namespace)
    return [
        str(item.get("valueString", ""))
        for item in task.get("input") or []
        if _type_is(item, system, "question")
    ]


def task_with_status(task: Json, action: str, now: str, reason: str | None = None) -> Json:
    """A copy of the Task after `action` (receive, accept, reject or start)."""
    updated = _moved(task, action, now)
    if action == "reject":
        if not reason or not reason.strip():
            raise ValueError("a rejection needs a reason")
        updated["statusReason"] = {"text": reason.strip()}
    return updated


def completed_task(task: Json, answers: list[str], letter_id: str, namespace: str,
                   now: str) -> Json:
    """A copy of the Task, completed: one answer per question in order, then the opinion."""
    updated = _moved(task, "complete", now)
    system = task_io_system(namespace)
    answer_type = {"coding": [coding(system, "answer", "Answer to a referral question")]}
    updated["output"] = [{"type": answer_type, "valueString": answer} for answer in answers] + [
        {
            "type": {"coding": [coding(system, "opinion", "Second opinion report")]},
            "valueReference": {"reference": f"DocumentReference/{letter_id}"},
        }
    ]
    return updated


def opinion_document(task: Json, letter: Letter, author: Json, now: str) -> Json:
    """The opinion letter as a DocumentReference (https://hl7.org/fhir/R4/documentreference.html)."""
    if letter.content_type not in LETTER_TYPES:
        raise ValueError(f"unsupported letter type {letter.content_type}")
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [CONSULT_NOTE], "text": CONSULT_NOTE["display"]},
        "category": [{"coding": [CLINICAL_NOTE]}],
        "subject": {"reference": str((task.get("for") or {}).get("reference", ""))},
        "date": now,
        "author": [author],
        "context": {"related": [{"reference": str(task["focus"]["reference"])}]},
        "content": [
            {
                "attachment": {
                    "contentType": letter.content_type,
                    "data": base64.b64encode(letter.data).decode("ascii"),
                    "title": LETTER_TITLE,
                    "creation": now,
                }
            }
        ],
    }


def _moved(task: Json, action: str, now: str) -> Json:
    """A copy of the Task in the status `action` leads to; TaskConflict if it cannot go there."""
    start, end = TRANSITIONS[action]
    if task.get("status") != start:
        raise TaskConflict(f"the referral is {task.get('status')}, not {start}")
    updated = copy.deepcopy(task)
    updated["status"] = end
    updated["lastModified"] = now
    return updated


def _type_is(item: Json, system: str, code: str) -> bool:
    """Whether a Task.input/output's first type coding is system|code."""
    codings = (item.get("type") or {}).get("coding") or [{}]
    return bool(codings[0].get("system") == system and codings[0].get("code") == code)
