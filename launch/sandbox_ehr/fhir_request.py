"""A FHIR REST interaction reduced to what the scope gateway decides on.

Built from an HTTP request or from a batch/transaction entry's `request`
(https://hl7.org/fhir/R4/http.html, https://hl7.org/fhir/R4/bundle.html#transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# SMART v2 permission per interaction:
# https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
_METHOD_PERMISSION = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}
_READ_LIKE_OPERATIONS = ("$validate", "$everything")


@dataclass(frozen=True)
class FhirRequest:
    """Method, resource type (or *), id, further path segments, query and parsed body."""

    method: str
    resource_type: str
    resource_id: str | None
    segments: tuple[str, ...]
    params: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None

    @property
    def permission(self) -> str:
        """The single SMART v2 permission letter this interaction needs."""
        last = self.segments[-1] if self.segments else ""
        if self.method in ("GET", "HEAD"):
            return "r" if self.resource_id else "s"
        if self.method == "POST" and last == "_search":
            return "s"
        if self.method == "POST" and last in _READ_LIKE_OPERATIONS:
            return "r"
        return _METHOD_PERMISSION.get(self.method, "r")

    @property
    def is_search(self) -> bool:
        """A type-level search (GET [type] or POST [type]/_search)."""
        return self.permission == "s"


def request_from_path(
    method: str, path: str, params: list[tuple[str, str]], body: Any
) -> FhirRequest:
    """Build from a path relative to the FHIR base, e.g. `Condition/abc/_history`."""
    segs = tuple(s for s in path.split("/") if s)
    if not segs or segs[0].startswith(("$", "_")):
        return FhirRequest(method, "*", None, segs, params, body)
    rid = segs[1] if len(segs) > 1 and not segs[1].startswith(("$", "_")) else None
    if rid and len(segs) == 3 and segs[2][:1].isupper():
        # compartment search [base]/Patient/ID/Condition = Condition?patient=ID
        return FhirRequest(method, segs[2], None, segs, [*params, ("patient", rid)], body)
    if method == "POST" and segs[-1] == "_search" and isinstance(body, list):
        params = [*params, *body]
    return FhirRequest(method, segs[0], rid, segs, params, body)


def request_from_entry(entry: dict[str, Any], fhir_base: str) -> FhirRequest:
    """Build from one batch/transaction entry (relative or absolute request.url)."""
    req = entry.get("request") or {}
    url = str(req.get("url", ""))
    if url.startswith(fhir_base):
        url = url[len(fhir_base):]
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    return request_from_path(str(req.get("method", "")).upper(), parts.path, params,
                             entry.get("resource"))
