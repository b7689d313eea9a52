"""The files a record review may carry: types a clinic can open, whose bytes are what they say.

A shared record's file reaches another organisation, whose staff open it, so only the kinds
a clinic can open safely go, and only when the bytes are that kind (the first bytes, "magic
numbers", as the WHATWG MIME Sniffing Standard §6 matches them: https://mimesniff.spec.whatwg.org/):

- ``application/pdf``: starts with ``%PDF-`` (ISO 32000-1 §7.5.2);
- ``image/png``, ``image/jpeg``, ``image/gif``, ``image/webp``: their signatures;
- ``text/plain``: UTF-8 (or US-ASCII) text without control characters, and not HTML
  (mimesniff §7.1's HTML patterns at its start);
- a CDA document as ``application/xml`` or ``text/xml``: well-formed XML, no DOCTYPE, whose
  root element is ``ClinicalDocument`` in ``urn:hl7-org:v3`` (HL7 CDA R2).

Everything else (HTML, scripts, executables, office files, archives, DICOM…) is refused by
name. ``attachment_title`` cleans the file name the clinic sees.
"""

import re
import unicodedata
import xml.etree.ElementTree as ElementTree

from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.text import text_without_forbidden_characters

SENT_KINDS = "PDF, PNG, JPEG, GIF and WebP images, plain text and CDA documents"
MAX_TITLE = 120
CDA_ROOT = "{urn:hl7-org:v3}ClinicalDocument"
_MEDIA_TYPE = re.compile(r"([a-z0-9][a-z0-9!#$&^_.+-]{0,126})/([a-z0-9][a-z0-9!#$&^_.+-]{0,126})")
_SIGNATURES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "application/pdf": ("a PDF", (b"%PDF-",)),
    "image/png": ("a PNG image", (b"\x89PNG\r\n\x1a\n",)),
    "image/jpeg": ("a JPEG image", (b"\xff\xd8\xff",)),
    "image/gif": ("a GIF image", (b"GIF87a", b"GIF89a")),
}
_TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
_XML_TYPES = frozenset({"application/xml", "text/xml"})
# mimesniff §7.1 "identifying a resource with an unknown MIME type": HTML, then a space or ">"
_HTML_START = re.compile(
    rb"\s*(?:<!DOCTYPE HTML|<HTML|<HEAD|<SCRIPT|<IFRAME|<H1|<DIV|<FONT|<TABLE|<A|<STYLE|<TITLE|<B"
    rb"|<BODY|<BR|<P|<!--)[\s>]",
    re.IGNORECASE,
)
_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")


class FileRefused(ReferralRuleError):
    """A file is not one Second Opinion sends; the message ends a sentence that names the record."""


def check_shareable_file(content_type: str | None, data: bytes) -> None:
    """Refuse (FileRefused) a file of a type a clinic may not open, or whose bytes are another kind."""
    if not content_type or not content_type.strip():
        raise FileRefused("does not say what type of file it is, so Second Opinion does not send it.")
    essence, _, parameters = content_type.partition(";")
    media = _MEDIA_TYPE.fullmatch(essence.strip().lower())
    if media is None:
        raise FileRefused("has a file type Second Opinion cannot read, so it does not send it.")
    kind = media.group(0)
    if kind in _SIGNATURES:
        label, signatures = _SIGNATURES[kind]
        if not data.startswith(signatures):
            raise _not_what_it_says(label)
    elif kind == "image/webp":
        if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise _not_what_it_says("a WebP image")
    elif kind == "text/plain":
        _check_text(parameters, data)
    elif kind in _XML_TYPES:
        _check_cda(data)
    else:
        raise FileRefused(f"is of type {kind}, which Second Opinion does not send to clinics: it sends "
                          f"{SENT_KINDS}.")


def _not_what_it_says(label: str) -> FileRefused:
    return FileRefused(f"is labelled {label}, but what it holds is not {label}, so Second Opinion does "
                       "not send it.")


def _check_text(parameters: str, data: bytes) -> None:
    """UTF-8 text (a declared charset must be UTF-8 or US-ASCII), no control characters, not HTML."""
    charset = _parameter(parameters, "charset")
    if charset is not None and charset not in _TEXT_CHARSETS:
        named = charset if re.fullmatch(r"[a-z0-9._-]{1,40}", charset) else "another"
        raise FileRefused(f"is text in the {named} character set; Second Opinion sends text in UTF-8 only.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _not_what_it_says("plain text") from error
    if _TEXT_CONTROLS.search(text) or _HTML_START.match(data.removeprefix(b"\xef\xbb\xbf")):
        raise _not_what_it_says("plain text")


def _parameter(parameters: str, name: str) -> str | None:
    """A media-type parameter's value, lowercased and unquoted (RFC 9110 §8.3.1)."""
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


class _Root(Exception):
    """Parsing stops at the root element: its namespace and name are all that is checked."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


class _RootOnly:
    """An ElementTree parser target that refuses a DOCTYPE and stops at the first element."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise FileRefused("is an XML file with a document type declaration, which Second Opinion "
                          "does not send.")

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        raise _Root(tag)


def _check_cda(data: bytes) -> None:
    """XML whose root is a CDA ClinicalDocument; a DOCTYPE (and so any entity) is refused."""
    parser = ElementTree.XMLParser(target=_RootOnly())
    try:
        parser.feed(data)
        parser.close()
    except _Root as found:
        if found.tag == CDA_ROOT:
            return
    except ElementTree.ParseError:
        pass
    raise FileRefused("is labelled XML, but it is not a CDA clinical document, the only XML Second "
                      "Opinion sends.")


def attachment_title(title: str) -> str | None:
    """The file name a clinic sees: no path, no control, format or NUL character, at most 120 characters.

    ``../../etc/passwd\\0.pdf`` becomes ``etc-passwd.pdf``; a title with nothing left is dropped.
    """
    spaced = " ".join(text_without_forbidden_characters(title).split())  # tabs, line breaks: a space
    visible = "".join(char for char in spaced
                      if unicodedata.category(char) not in ("Cc", "Cf"))  # Cf: e.g. U+202E reverses text
    flat = re.sub(r"\s*[/\\]+\s*", "-", visible)
    cleaned = flat.strip(" .-_")
    if len(cleaned) > MAX_TITLE:
        _, dot, extension = cleaned.rpartition(".")
        keep = f".{extension}" if dot and 0 < len(extension) <= 10 else ""
        cleaned = cleaned[: MAX_TITLE - len(keep) - 1].rstrip() + "…" + keep
    return cleaned or None
