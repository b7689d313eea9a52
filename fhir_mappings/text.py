"""Free text as FHIR allows it: https://hl7.org/fhir/R4/datatypes.html#string.

FHIR strings SHALL NOT contain code points below 32 other than tab, CR and LF, and the
narrative is XHTML, which also forbids U+FFFE, U+FFFF and lone surrogates
(https://www.w3.org/TR/xml/#charsets). DEL and the C1 controls have no use in clinical
text either; they are treated the same way.
"""

import re
import unicodedata

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def has_forbidden_character(text: str) -> bool:
    """Whether the text holds a character a FHIR string or XHTML cannot carry."""
    return _FORBIDDEN.search(text) is not None


def text_without_forbidden_characters(text: str) -> str:
    """The text with every such character removed (for text read from an EHR)."""
    return _FORBIDDEN.sub("", text)


def has_visible_character(text: str) -> bool:
    """Whether anything would show: a character that is neither a separator nor a format/control one."""
    return any(unicodedata.category(char)[0] not in "ZC" for char in text)
