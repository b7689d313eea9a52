"""The opinion letter from the inbox form: typed text, or an uploaded PDF or text file."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from .clinic_tasks import Letter

MAX_LETTER_BYTES = 2 * 1024 * 1024
PDF_MAGIC = b"%PDF-"  # ISO 32000-1 §7.5.2: a PDF file starts with its header line


class LetterInvalid(Exception):
    """The letter is missing, too large, or neither PDF nor UTF-8 text."""


def letter_from_form(text: str, upload: FileStorage | None) -> Letter:
    """One letter: the file if one was chosen, else the typed text; never both."""
    data = upload.read(MAX_LETTER_BYTES + 1) if upload is not None and upload.filename else b""
    if data and text.strip():
        raise LetterInvalid("Type the letter or attach a file, not both.")
    if not data:
        if not text.strip():
            raise LetterInvalid("Write the opinion letter or attach it as a PDF or text file.")
        return Letter("text/plain", text.strip().encode("utf-8"))
    if len(data) > MAX_LETTER_BYTES:
        raise LetterInvalid("The file is larger than 2 MB.")
    if data.startswith(PDF_MAGIC):
        return Letter("application/pdf", data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise LetterInvalid("Attach the letter as a PDF or a plain text file.") from None
    return Letter("text/plain", data)
