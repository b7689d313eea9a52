"""The referral letter and the worker's handout as PDF (``smart_app.pdf``: DejaVu Sans embedded).

The letter's lines and its closing ("how to return the opinion") are shared by the print view.
"""

from __future__ import annotations

from fhir_mappings.handout import Handout, long_date
from fhir_mappings.letter import Contact, Letter
from smart_app.pdf import PdfDocument

LETTER_TITLE = "Second-opinion referral"
LETTER_SCOPE_CLOSING = (
    "This referral asks for an opinion only: the referring physician stays in charge of the "
    "patient's care."
)


def letter_rows(letter: Letter, date_text: str | None = None) -> list[tuple[str, str]]:
    """The letter's labelled lines, in print order, skipping what is unknown."""
    sender = letter.sender or Contact()
    receiver = letter.receiver or Contact()
    rows = [
        ("Date", date_text or (long_date(letter.authored, "en") if letter.authored else None)),
        ("Referral number", letter.number or letter.referral_id),
        ("Opinion needed by", long_date(letter.due_by, "en") if letter.due_by else None),
        ("To", _addressee(letter)),
        ("Address", receiver.address),
        ("From", letter.requester),
        ("Referring clinic", sender.clinic),
        ("Clinic address", sender.address),
        ("Phone", sender.phone),
        ("Fax", sender.fax),
        ("Patient", letter.patient),
        ("Date of birth", long_date(letter.birth_date, "en") if letter.birth_date else None),
        ("Date of injury", long_date(letter.injury_date, "en") if letter.injury_date else None),
        ("Workers' compensation claim", letter.claim),
        ("Insurer", letter.insurer),
        ("Employer", letter.employer),
        ("Visit type", letter.visit_type),
        ("Requested window", _window(letter)),
        ("Reason for referral", "; ".join(letter.reasons) or None),
        ("Records shared", "; ".join(letter.records) or None),
    ]
    return [(label, value) for label, value in rows if value]


def return_instructions(letter: Letter) -> str:
    """How and by when to send the opinion back, with every way the chart gave to reach the ATP."""
    sender = letter.sender or Contact()
    who = letter.requester or "the referring physician"
    where = f"{who}, {sender.clinic}" if sender.clinic else who
    due = f" by {long_date(letter.due_by, 'en')}" if letter.due_by else ""
    ways = [f"fax it to {sender.fax}" if sender.fax else "",
            f"mail it to {sender.address}" if sender.address else ""]
    how = " or ".join(way for way in ways if way)
    call = f" With any question, call {sender.phone}." if sender.phone else ""
    return (
        f"Please send your opinion letter, with an answer to each question, to {where}{due}"
        + (f": {how}." if how else ".")
        + call
        + " If this referral reached you electronically, complete its Task with your answers instead."
    )


def _addressee(letter: Letter) -> str | None:
    """"Physician (Clinic)", or whichever of the two is known."""
    if letter.physician and letter.clinic:
        return f"{letter.physician} ({letter.clinic})"
    return letter.physician or letter.clinic


def _window(letter: Letter) -> str | None:
    """"March 3, 2026 to April 1, 2026"."""
    if letter.window is None:
        return None
    return " to ".join(long_date(day, "en") for day in letter.window)


def letter_pdf(letter: Letter, date_text: str | None = None) -> bytes:
    """The referral letter on one or more Letter-size pages."""
    document = PdfDocument(LETTER_TITLE)
    document.heading(LETTER_TITLE, 16)
    for label, value in letter_rows(letter, date_text):
        document.labelled(label, value)
    document.heading("Scope", 12)
    document.paragraph(letter.scope)
    document.heading("Questions", 12)
    for number, question in enumerate(letter.questions, start=1):
        document.paragraph(f"{number}. {question}")
    document.heading("How to return the opinion", 12)
    document.paragraph(return_instructions(letter))
    document.paragraph(LETTER_SCOPE_CLOSING)
    return document.output()


def handout_pdf(handout: Handout) -> bytes:
    """The worker's handout on one page, in large type."""
    document = PdfDocument(handout.title)
    document.heading(handout.title, 18)
    for section in handout.sections:
        document.heading(section.heading, 13)
        lines = section.sentences if section.one_per_line else (" ".join(section.sentences),)
        for line in filter(None, lines):
            document.paragraph(line, size=12)
        for item in section.items:
            document.paragraph(f"- {item}", size=12)
    return document.output()
