"""The signed opinion letter as a PDF (``smart_app.pdf``: the referral documents' page setup and
embedded Unicode font, so a name outside Latin-1 prints as typed)."""

from __future__ import annotations

from fhir_mappings.opinion import conclusion_lines
from fhir_mappings.signed_opinion import ATTESTATION, LETTER_TITLE, OpinionLetter, letter_header_rows
from smart_app.pdf import PdfDocument


def opinion_pdf(letter: OpinionLetter) -> bytes:
    """Header, scope, conclusion (MMI first), each question with its answer, the attestation."""
    document = PdfDocument(f"{LETTER_TITLE} {letter.referral_id}")
    document.heading(LETTER_TITLE, 16)
    for label, value in letter_header_rows(letter):
        document.labelled(label, value)
    document.heading("Scope", 12)
    document.paragraph(letter.scope)
    document.heading("Conclusion", 12)
    for label, value in conclusion_lines(letter.conclusion):
        document.labelled(label, value)
    document.heading("Questions and answers", 12)
    for number, (question, answer) in enumerate(letter.answered, start=1):
        document.labelled(f"Question {number}", question)
        document.paragraph(answer)
        document.space(0.5)
    document.heading("Attestation", 12)
    document.paragraph(ATTESTATION)
    document.paragraph(f"Signed electronically by {letter.physician} on {letter.signed}.")
    return document.output()
