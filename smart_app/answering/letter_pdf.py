"""The signed opinion letter as a PDF (fpdf2, with the referral documents' page setup)."""

from __future__ import annotations

from fhir_mappings.opinion import conclusion_lines
from fhir_mappings.signed_opinion import ATTESTATION, LETTER_TITLE, OpinionLetter, letter_header_rows
from smart_app.referrals.documents import LINE, _document, _heading, _labelled, _paragraph


def opinion_pdf(letter: OpinionLetter) -> bytes:
    """Header, scope, conclusion (MMI first), each question with its answer, the attestation."""
    pdf = _document(f"{LETTER_TITLE} {letter.referral_id}")
    _heading(pdf, LETTER_TITLE, 16)
    for label, value in letter_header_rows(letter):
        _labelled(pdf, label, value)
    _heading(pdf, "Scope", 12)
    _paragraph(pdf, letter.scope)
    _heading(pdf, "Conclusion", 12)
    for label, value in conclusion_lines(letter.conclusion):
        _labelled(pdf, label, value)
    _heading(pdf, "Questions and answers", 12)
    for number, (question, answer) in enumerate(letter.answered, start=1):
        _labelled(pdf, f"Question {number}", question)
        _paragraph(pdf, answer)
        pdf.ln(LINE / 2)
    _heading(pdf, "Attestation", 12)
    _paragraph(pdf, ATTESTATION)
    _paragraph(pdf, f"Signed electronically by {letter.physician} on {letter.signed}.")
    return bytes(pdf.output())
