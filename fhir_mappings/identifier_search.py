"""Finding a resource by one of its identifiers: https://hl7.org/fhir/R4/search.html#token."""

import re
from urllib.parse import quote

_ESCAPES = re.compile(r"([\\|,$])")  # https://hl7.org/fhir/R4/search.html#escaping


def token_from_identifier(system: str, value: str) -> str:
    """The ``system|value`` token of an ``identifier`` search, the value escaped."""
    escaped = _ESCAPES.sub(r"\\\1", value)
    return f"{system}|{escaped}"


def if_none_exist_from_identifier(system: str, value: str) -> str:
    """The ``If-None-Exist`` query of a conditional create on that identifier (http.html#ccreate)."""
    system, _, escaped = token_from_identifier(system, value).partition("|")
    return f"identifier={quote(system, safe='')}|{quote(escaped, safe='')}"
