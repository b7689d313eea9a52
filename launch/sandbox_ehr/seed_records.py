"""Seed records: the documents and reports of each injured worker that a record review shares.

The two documents carry their text inline (``attachment.data``); the imaging report's PDF is a
separate Binary that ``presentedForm.url`` names relative to the base, as many EHRs serve files,
so the app has to fetch it (https://hl7.org/fhir/R4/binary.html).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from .fhir_codes import DOC_CATEGORY, Json, coding, text_concept

if TYPE_CHECKING:
    from .seed_patients import Worker


def record_resources(worker: Worker) -> list[Json]:
    """The visit note, the work status report, the imaging report and its PDF of one worker."""
    return [_visit_note(worker), _work_status_note(worker), _imaging_report(worker),
            _imaging_pdf(worker)]


def _visit_note(worker: Worker) -> Json:
    """A short plain-text visit note, shareable for a record review."""
    text = (f"Synthetic visit note for {worker.given} {worker.family} (sandbox patient "
            f"{worker.id}). Not a real person.")
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
        "conclusion": f"Synthetic report for {worker.given} {worker.family}. Not a real person.",
        "presentedForm": [{"contentType": "application/pdf", "title": "Imaging report (PDF)",
                           "url": f"Binary/{worker.id}-dr-1-pdf"}],
    }


def _imaging_pdf(worker: Worker) -> Json:
    """The imaging report as a PDF, readable by whoever may read the report (securityContext)."""
    site = worker.injuries[0].body_site.lower()
    pdf = synthetic_pdf([f"MRI of the {site}: synthetic report for sandbox patient {worker.id}.",
                         "Not a real person."])
    return {
        "resourceType": "Binary",
        "id": f"{worker.id}-dr-1-pdf",
        "contentType": "application/pdf",
        "securityContext": {"reference": f"DiagnosticReport/{worker.id}-dr-1"},
        "data": base64.b64encode(pdf).decode(),
    }


def synthetic_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing ``lines`` in Helvetica, with a correct cross-reference table."""
    shown = " ".join(f"({_pdf_text(line)}) '" for line in lines)
    stream = f"BT /F1 12 Tf 72 740 Td 16 TL {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    size = len(objects) + 1
    table = "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    trailer = f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{len(out)}\n%%EOF\n"
    return out + f"xref\n0 {size}\n0000000000 65535 f \n{table}{trailer}".encode("latin-1")


def _pdf_text(line: str) -> str:
    """A PDF literal string: backslash and parentheses escaped."""
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

