"""The letter and handout PDFs: their extracted text holds the questions, the scope and the names."""

import io

import pytest
from pypdf import PdfReader

from fhir_mappings.codes import SCOPE_STATEMENT
from fhir_mappings.handout import handout_from_letter
from fhir_mappings.letter import letter_from_service_request
from smart_app.referrals.documents import handout_pdf, latin1, letter_pdf, letter_rows
from tests.unit.test_letter import COVERAGE, RESOURCE


def _text(pdf: bytes) -> str:
    """The PDF's text with line breaks folded to spaces, as one string."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_the_letter_pdf_holds_questions_scope_claim_and_physician() -> None:
    pdf = letter_pdf(letter_from_service_request(RESOURCE, COVERAGE))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for expected in ("Second-opinion referral", "1. Is the diagnosis of lumbar strain correct?",
                     "2. Is she at MMI?", SCOPE_STATEMENT, "Workers' compensation claim: WC-2026-0417",
                     "Insurer: Pinnacol Assurance", "Employer: Front Range Builders",
                     "To: Dr. Morgan Avery, MD (Summit Occupational Health)",
                     "From: Dr. Casey Atwood, MD", "Visit type: Telehealth",
                     "Reason for referral: Lumbar strain; Sprain of right knee",
                     "Referral number: 04HM-ASW9", "Date: 2026-11-20"):
        assert expected in text


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ("Your second-opinion visit", "This visit is not an IME.", "Dr. Morgan Avery, MD",
            "Your claim number: WC-2026-0417")),
    ("es", ("Su cita para una segunda opinión", "Esta cita no es un IME.",
            "Clínica: Summit Occupational Health.", "¿Por qué una segunda opinión?")),
])
def test_the_handout_pdf_is_one_page_in_its_language(language: str, expected: tuple[str, ...]
                                                     ) -> None:
    letter = letter_from_service_request(RESOURCE, COVERAGE)
    pdf = handout_pdf(handout_from_letter(letter, "en" if language == "en" else "es"))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = _text(pdf)
    for sentence in expected:
        assert sentence in text


def test_text_outside_latin1_is_drawn_plainly() -> None:
    assert latin1("Dr. Ana — “Peak” Clinic… Ñandú ✓") == 'Dr. Ana - "Peak" Clinic... Ñandú ?'


def test_unknown_parts_of_the_letter_are_left_out() -> None:
    assert letter_rows(letter_from_service_request({})) == []
