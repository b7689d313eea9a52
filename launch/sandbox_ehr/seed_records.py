"""Seed records: the documents and reports of each injured worker that a record review shares."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from .fhir_codes import DOC_CATEGORY, Json, coding, text_concept

if TYPE_CHECKING:
    from .seed_patients import Worker


def record_resources(worker: Worker) -> list[Json]:
    """The visit note, the work status report and the imaging report of one worker."""
    return [_visit_note(worker), _work_status_note(worker), _imaging_report(worker)]


def _visit_note(worker: Worker) -> Json:
    """A short plain-text visit note, shareable for a record review."""
    text = f"Synthetic visit note for sandbox patient {worker.id}. Not a real person."
    return {
        "resourceType": "DocumentReference",
        "id": f"{worker.id}-doc-1",
        "status": "current",
        "docStatus": "final",
        "type": text_concept("Office visit note"),
        "category": [{"coding": [coding(DOC_CATEGORY, "clinical-note", "Clinical Note")]}],
        "subject": {"reference": f"Patient/{worker.id}"},
        "date": f"{worker.visit}T10:00:00-07:00",
        "author": [{"reference": "Practitioner/atp-1", "display": "Dr. Morgan Avery, MD"}],
        "description": "Office visit note",
        "content": [{"attachment": {"contentType": "text/plain", "title": "Visit note",
                                    "data": base64.b64encode(text.encode()).decode()}}],
        "context": {"encounter": [{"reference": f"Encounter/{worker.id}-enc-1"}]},
    }


def _work_status_note(worker: Worker) -> Json:
    """A second document (work status report), so a record review can share two."""
    text = f"Synthetic work status report for sandbox patient {worker.id}. Not a real person."
    return {
        "resourceType": "DocumentReference",
        "id": f"{worker.id}-doc-2",
        "status": "current",
        "docStatus": "final",
        "type": text_concept("Work status report"),
        "category": [{"coding": [coding(DOC_CATEGORY, "clinical-note", "Clinical Note")]}],
        "subject": {"reference": f"Patient/{worker.id}"},
        "date": f"{worker.visit}T10:30:00-07:00",
        "author": [{"reference": "Practitioner/atp-1", "display": "Dr. Morgan Avery, MD"}],
        "description": "Work status report (restrictions)",
        "content": [{"attachment": {"contentType": "text/plain", "title": "Work status",
                                    "data": base64.b64encode(text.encode()).decode()}}],
    }


def _imaging_report(worker: Worker) -> Json:
    """An imaging DiagnosticReport (text-only code: no LOINC code for it is in the code table)."""
    site = worker.injuries[0].body_site
    return {
        "resourceType": "DiagnosticReport",
        "id": f"{worker.id}-dr-1",
        "status": "final",
        "code": text_concept(f"MRI of the {site.lower()}"),
        "subject": {"reference": f"Patient/{worker.id}"},
        "effectiveDateTime": f"{worker.injuries[0].onset}T14:00:00-07:00",
        "issued": f"{worker.injuries[0].onset}T16:00:00-07:00",
        "conclusion": "Synthetic report for the sandbox. Not a real person.",
    }
