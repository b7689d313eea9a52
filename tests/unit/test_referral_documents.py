"""The letter and handout PDFs: their extracted text holds the questions, the scope and the names."""

import io

import pytest
from pypdf import PdfReader

from fhir_mappings.codes import SCOPE_STATEMENT
from fhir_mappings.handout import handout_from_letter
from fhir_mappings.letter import Letter, letter_from_service_request
from smart_app.pdf import PdfDocument
from smart_app.referrals.documents import handout_pdf, letter_pdf, letter_rows, return_instructions
from tests.unit.test_letter import CONTEXT, COVERAGE, RESOURCE, WIDE_RESOURCE


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
                     "Referral number: 04HM-ASW9", "Date: November 20, 2026"):
        assert expected in text


def test_the_letter_pdf_says_who_when_and_how_to_return_the_opinion() -> None:
    text = _text(letter_pdf(letter_from_service_request(WIDE_RESOURCE, context=CONTEXT), "November 19, 2026"))
    for expected in ("Date: November 19, 2026", "Opinion needed by: January 15, 2027",
                     "Date of birth: March 12, 1984", "Date of injury: November 3, 2025",
                     "Phone: 303-555-0145", "Fax: 303-555-0141",
                     "Clinic address: 1450 Larimer Street, Suite 300, Denver, CO 80202",
                     "Requested window: December 1, 2026 to December 31, 2026",
                     "Records shared: Office visit note; MRI lumbar spine", "How to return the opinion",
                     "by January 15, 2027: fax it to 303-555-0141 or mail it to 1450 Larimer Street"):
        assert expected in text


def test_the_return_instructions_use_only_what_is_known() -> None:
    bare = Letter(None, None, None, None, None, None, None, None, SCOPE_STATEMENT, (), ())
    assert return_instructions(bare) == (
        "Please send your opinion letter, with an answer to each question, to the referring "
        "physician. If this referral reached you electronically, complete its Task with your "
        "answers instead."
    )


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


NAMES = ("Thị Ngọc Ánh Nguyễn", "Łukasz Wiśniewski", "Dr. Ana — “Peak” Clinic… Ñandú", "Σωκράτης Ζέρβας",
         "Анна Петрова")


@pytest.mark.parametrize("name", NAMES)
def test_every_letter_of_a_name_survives_in_the_pdf_text(name: str) -> None:
    document = PdfDocument(f"Letter for {name}")
    document.heading(name, 16)
    document.labelled("Patient", name)
    document.paragraph(f"{name} asked a question.")
    pdf = document.output()
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == f"Letter for {name}"
    text = reader.pages[0].extract_text()
    assert text.count(name) == 3 and "?" not in text


def test_a_name_typed_with_combining_marks_prints_as_its_letters() -> None:
    decomposed = "Nguye\u0302\u0303n"  # e, circumflex, tilde: "Nguyễn" as some keyboards send it
    document = PdfDocument("x")
    document.paragraph(decomposed)
    assert "Nguyễn" in PdfReader(io.BytesIO(document.output())).pages[0].extract_text()


def test_unknown_parts_of_the_letter_are_left_out() -> None:
    assert letter_rows(letter_from_service_request({})) == []


@pytest.mark.parametrize("language", ["en", "es"])
def test_with_the_visit_address_the_handout_pdf_still_fits_one_page(language: str) -> None:
    letter = letter_from_service_request(WIDE_RESOURCE, context=CONTEXT)
    pdf = handout_pdf(handout_from_letter(letter, "en" if language == "en" else "es"))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert ("Phone: 303-555-0150." if language == "en" else "Teléfono: 303-555-0150.") in _text(pdf)
