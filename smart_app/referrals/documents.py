"""The referral letter and the worker's handout as PDF, with fpdf2 and its core Helvetica font.

Core fonts cover Latin-1, which holds English and Spanish; typographic marks outside it are
mapped to their plain forms and anything else to "?" (https://py-pdf.github.io/fpdf2/Unicode.html).
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from fhir_mappings.handout import Handout
from fhir_mappings.letter import Letter

FONT = "Helvetica"
LINE = 6.0
_PLAIN = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
                        "•": "-", "\u00a0": " "})

LETTER_TITLE = "Second-opinion referral"
LETTER_CLOSING = (
    "Please send your opinion letter, with an answer to each question, to the referring "
    "physician. This referral asks for an opinion only: the referring physician stays in "
    "charge of the patient's care."
)


def latin1(text: str) -> str:
    """The text as the core fonts can draw it."""
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def letter_rows(letter: Letter) -> list[tuple[str, str]]:
    """The letter's labelled lines, in print order, skipping what is unknown."""
    rows = [
        ("Date", letter.authored),
        ("Referral number", letter.number or letter.referral_id),
        ("To", _addressee(letter)),
        ("From", letter.requester),
        ("Patient", letter.patient),
        ("Workers' compensation claim", letter.claim),
        ("Insurer", letter.insurer),
        ("Employer", letter.employer),
        ("Visit type", letter.visit_type),
        ("Reason for referral", "; ".join(letter.reasons) or None),
    ]
    return [(label, value) for label, value in rows if value]


def _addressee(letter: Letter) -> str | None:
    """"Physician (Clinic)", or whichever of the two is known."""
    if letter.physician and letter.clinic:
        return f"{letter.physician} ({letter.clinic})"
    return letter.physician or letter.clinic


def letter_pdf(letter: Letter) -> bytes:
    """The referral letter on one or more Letter-size pages."""
    pdf = _document(LETTER_TITLE)
    _heading(pdf, LETTER_TITLE, 16)
    for label, value in letter_rows(letter):
        _labelled(pdf, label, value)
    _heading(pdf, "Scope", 12)
    _paragraph(pdf, letter.scope)
    _heading(pdf, "Questions", 12)
    for number, question in enumerate(letter.questions, start=1):
        _paragraph(pdf, f"{number}. {question}")
    pdf.ln(LINE)
    _paragraph(pdf, LETTER_CLOSING)
    return bytes(pdf.output())


def handout_pdf(handout: Handout) -> bytes:
    """The worker's handout on one page, in large type."""
    pdf = _document(handout.title)
    _heading(pdf, handout.title, 18)
    for section in handout.sections:
        _heading(pdf, section.heading, 13)
        if section.sentences:
            _paragraph(pdf, " ".join(section.sentences), size=12)
        for item in section.items:
            _paragraph(pdf, f"- {item}", size=12)
    return bytes(pdf.output())


def _document(title: str) -> FPDF:
    """A Letter-size document with its title in the metadata."""
    pdf = FPDF(format="letter")
    pdf.set_title(latin1(title))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    return pdf


def _heading(pdf: FPDF, text: str, size: int) -> None:
    """A bold line with some space above."""
    pdf.ln(LINE / 2)
    pdf.set_font(FONT, "B", size)
    pdf.multi_cell(0, LINE + 1, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _labelled(pdf: FPDF, label: str, value: str) -> None:
    """"Label: value" with the label in bold."""
    pdf.set_font(FONT, "B", 11)
    pdf.write(LINE, latin1(f"{label}: "))
    pdf.set_font(FONT, "", 11)
    pdf.multi_cell(0, LINE, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _paragraph(pdf: FPDF, text: str, size: int = 11) -> None:
    """Wrapped text at the left margin."""
    pdf.set_font(FONT, "", size)
    pdf.multi_cell(0, LINE, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
