"""The app's printable PDFs: one page setup, one embedded Unicode font, headings and paragraphs.

fpdf2's core fonts cover Latin-1 only, so a name such as "Nguyễn" or "Łukasz" would print with
"?". Every PDF embeds DejaVu Sans instead (regular and bold, ``smart_app/fonts/``, Bitstream Vera
licence in ``LICENSE-DejaVu.txt``): it covers Latin, Greek and Cyrillic with Vietnamese and is
subset into each PDF, so a letter stays small (https://py-pdf.github.io/fpdf2/Unicode.html).
Text is NFC-normalised first: a name typed with combining marks draws as the precomposed letter.
The referral letter, the worker's handout and any later PDF (the physician's opinion letter)
build on ``PdfDocument``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
LINE = 6.0
_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def printable(text: str) -> str:
    """The text as the embedded font draws it: NFC, no-break spaces as spaces."""
    return unicodedata.normalize("NFC", text).replace("\u00a0", " ")


class PdfDocument:
    """A US Letter document with its title in the metadata and the embedded font loaded."""

    def __init__(self, title: str) -> None:
        self.pdf = FPDF(format="letter")
        for style, name in _FILES.items():
            self.pdf.add_font(FONT, style, str(FONT_DIR / name))
        self.pdf.set_title(printable(title))
        self.pdf.set_margins(20, 18, 20)
        self.pdf.set_auto_page_break(auto=True, margin=18)
        self.pdf.add_page()

    def heading(self, text: str, size: int) -> None:
        """A bold line with some space above."""
        self.pdf.ln(LINE / 2)
        self.pdf.set_font(FONT, "B", size)
        self.pdf.multi_cell(0, LINE + 1, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def labelled(self, label: str, value: str, size: int = 11) -> None:
        """"Label: value" with the label in bold; the value wraps under it."""
        self.pdf.set_font(FONT, "B", size)
        self.pdf.write(LINE, printable(f"{label}: "))
        self.pdf.set_font(FONT, "", size)
        self.pdf.multi_cell(0, LINE, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, size: int = 11) -> None:
        """Wrapped text at the left margin."""
        self.pdf.set_font(FONT, "", size)
        self.pdf.multi_cell(0, LINE, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def space(self, lines: float = 1.0) -> None:
        """Empty space, in lines."""
        self.pdf.ln(LINE * lines)

    def output(self) -> bytes:
        """The finished PDF."""
        return bytes(self.pdf.output())
