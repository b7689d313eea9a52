"""The returned second opinion as a DocumentReference in the EHR chart, linked to the ServiceRequest.

https://hl7.org/fhir/R4/documentreference.html, aligned with US Core DocumentReference:
type LOINC 11488-4 "Consult note" (a US Core clinical note type), category
``clinical-note``, ``context.related`` → the referral's ServiceRequest. The letter the
clinic attached travels as sent; a second, text/plain attachment holds the conclusion (MMI
first) and then each answer under its question, so that any FHIR client shows them.
"""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference

from fhir_mappings.codes import (
    CLINICAL_NOTE,
    CONSULT_NOTE,
    MMI_STATUS_DISPLAY,
    REFERRAL_IDENTIFIER_ID,
    WORK_RELATEDNESS_DISPLAY,
    identifier_system,
)
from fhir_mappings.domain import Conclusion


@dataclass(frozen=True)
class Opinion:
    """What the clinic returned for one referral."""

    referral_id: str
    patient_reference: str  # "Patient/…" at the EHR
    service_request_id: str  # at the EHR
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    date: str  # FHIR instant, the caller's clock
    letter: Mapping[str, Any] | None = None  # Attachment: contentType, data (base64), title
    conclusion: Conclusion | None = None  # the signed conclusion, MMI first


def conclusion_lines(conclusion: Conclusion) -> list[tuple[str, str]]:
    """The conclusion as a workers' comp ATP reads it: MMI first, then work-relatedness,
    restrictions, treatment and the summary (docs/delivery.md, "The signed opinion")."""
    mmi = MMI_STATUS_DISPLAY[conclusion.mmi]
    if conclusion.mmi == "reached" and conclusion.mmi_date:
        mmi = f"{mmi} on {conclusion.mmi_date}"
    elif conclusion.mmi == "not-reached" and conclusion.mmi_expected:
        mmi = f"{mmi}; expected: {conclusion.mmi_expected}"
    lines = [("Maximum medical improvement", mmi)]
    if conclusion.work_relatedness:
        relatedness = WORK_RELATEDNESS_DISPLAY[conclusion.work_relatedness]
        note = f": {conclusion.work_relatedness_note}" if conclusion.work_relatedness_note else ""
        lines.append(("Work-relatedness", f"{relatedness}{note}"))
    for label, value in (("Work restrictions", conclusion.work_restrictions),
                         ("Treatment recommendations", conclusion.treatment),
                         ("Summary", conclusion.summary)):  # fmt: skip
        if value and value.strip():
            lines.append((label, value.strip()))
    return lines


def answers_text_from_opinion(opinion: Opinion) -> str:
    """The conclusion (MMI first), then each question followed by its answer, in the ATP's order."""
    blocks = []
    if opinion.conclusion is not None:
        blocks.append("\n".join(f"{label}: {value}" for label, value in conclusion_lines(opinion.conclusion)))
    for number, question in enumerate(opinion.questions, start=1):
        answer = opinion.answers[number - 1] if number <= len(opinion.answers) else "(no answer)"
        blocks.append(f"Question {number}: {question}\nAnswer: {answer}")
    return "\n\n".join(blocks)


def document_reference_from_opinion(opinion: Opinion, ns: str, text_data: str) -> dict[str, Any]:
    """The DocumentReference; ``text_data`` is the base64 of ``answers_text_from_opinion``."""
    content = [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": text_data,
                               "title": "Answers to the referral questions"}}]  # fmt: skip
    if opinion.letter and opinion.letter.get("data") and opinion.letter.get("contentType"):
        letter = {k: opinion.letter[k] for k in ("contentType", "data", "title") if opinion.letter.get(k)}
        content.insert(0, {"attachment": letter})
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [
            {"system": identifier_system(ns, REFERRAL_IDENTIFIER_ID), "value": opinion.referral_id}
        ],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [CONSULT_NOTE.coding()], "text": "Second opinion"},
        "category": [{"coding": [CLINICAL_NOTE.coding()]}],
        "subject": {"reference": opinion.patient_reference},
        "date": opinion.date,
        "description": "Second opinion (opinion only) in answer to a referral",
        "content": content,
        "context": {"related": [{"reference": f"ServiceRequest/{opinion.service_request_id}"}]},
    }
    DocumentReference.model_validate(resource)
    return resource


def opinion_attachment(letter: Mapping[str, Any] | None) -> tuple[str, bytes] | None:
    """The letter's media type and bytes to serve, when they can be trusted: a PDF that starts as
    one (``%PDF-``, ISO 32000-1 §7.5.2) or plain text; None for anything else."""
    if not letter or not isinstance(letter.get("data"), str):
        return None
    try:
        data = base64.b64decode("".join(str(letter["data"]).split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    content_type = str(letter.get("contentType") or "").split(";")[0].strip().lower()
    if content_type == "application/pdf" and data.startswith(b"%PDF-"):
        return "application/pdf", data
    if content_type == "text/plain":
        return "text/plain; charset=utf-8", data
    return None


def service_request_status_from_task_status(task_status: str) -> str | None:
    """R4 ServiceRequest.status the EHR's order takes: completed or revoked (rejected), else None."""
    return {"completed": "completed", "rejected": "revoked", "cancelled": "revoked"}.get(task_status)
