"""The returned second opinion as a DocumentReference in the EHR chart, linked to the ServiceRequest.

https://hl7.org/fhir/R4/documentreference.html, aligned with US Core DocumentReference:
type LOINC 11488-4 "Consult note" (a US Core clinical note type), category
``clinical-note``, ``context.related`` → the referral's ServiceRequest. The letter the
clinic attached travels as sent; a second, text/plain attachment holds each answer under
its question so that any FHIR client shows them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference

from fhir_mappings.codes import CLINICAL_NOTE, CONSULT_NOTE, REFERRAL_IDENTIFIER_ID, identifier_system


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


def answers_text_from_opinion(opinion: Opinion) -> str:
    """Each question followed by its answer, numbered in the ATP's order."""
    blocks = []
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


def service_request_status_from_task_status(task_status: str) -> str | None:
    """R4 ServiceRequest.status the EHR's order takes: completed or revoked (rejected), else None."""
    return {"completed": "completed", "rejected": "revoked", "cancelled": "revoked"}.get(task_status)
