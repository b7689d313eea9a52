"""The records a referral shares, as the clinic's inbox lists and serves them (sandbox only).

The delivered ServiceRequest names them in ``supportingInfo``; every file (DocumentReference
``content.attachment``, DiagnosticReport ``presentedForm``) arrived with its content inline
(https://hl7.org/fhir/R4/datatypes.html#Attachment), so the inbox serves it from the clinic's
own store and never reaches back to the EHR.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from .clinic_store import ClinicStore
from .fhir_codes import Json

SHOWN_INLINE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
_MIME = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[\w!#$&^.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_KINDS = {"DocumentReference": "Document", "DiagnosticReport": "Diagnostic report"}


@dataclass(frozen=True)
class SharedFile:
    """One attachment of a shared record."""

    number: int  # 1-based, in the record's order
    title: str
    content_type: str


@dataclass(frozen=True)
class SharedRecord:
    """One row of the page's "Shared records" table."""

    number: int  # 1-based, in supportingInfo order
    title: str
    date: str
    kind: str
    files: tuple[SharedFile, ...]


def shared_records(store: ClinicStore, service_request: Json) -> list[SharedRecord]:
    """The records the ServiceRequest names that the clinic holds, in the ATP's order."""
    rows = []
    for number, (reference, record) in enumerate(_records(store, service_request), start=1):
        if record is None:
            continue
        files = tuple(SharedFile(n, str(a.get("title") or f"File {n}"), content_type(a))
                      for n, a in enumerate(_attachments(record), start=1))
        rows.append(SharedRecord(number, _title(record, reference), _date(record),
                                 _kind(record), files))
    return rows


def shared_file(store: ClinicStore, service_request: Json, record_number: int,
                file_number: int) -> tuple[bytes, str, str] | None:
    """The file's bytes, content type and a safe file name; None if there is no such file."""
    records = _records(store, service_request)
    if not 1 <= record_number <= len(records) or records[record_number - 1][1] is None:
        return None
    attachments = _attachments(records[record_number - 1][1] or {})
    if not 1 <= file_number <= len(attachments):
        return None
    attachment = attachments[file_number - 1]
    try:
        data = base64.b64decode("".join(str(attachment.get("data") or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data:
        return None
    kind = content_type(attachment)
    return data, kind, _file_name(attachment, record_number, file_number, kind)


def content_type(attachment: Json) -> str:
    """The attachment's contentType as sent, when it is a well-formed media type."""
    value = str(attachment.get("contentType") or "")
    return value if _MIME.fullmatch(value) else "application/octet-stream"


def _records(store: ClinicStore, service_request: Json) -> list[tuple[Json, Json | None]]:
    """Each supportingInfo reference with the DocumentReference or DiagnosticReport it names."""
    found = []
    for reference in service_request.get("supportingInfo") or []:
        kind = str((reference or {}).get("reference", "")).partition("/")[0]
        record = store.read_reference(reference, kind) if kind in _KINDS else None
        found.append((reference, record))
    return found


def _attachments(record: Json) -> list[Json]:
    if record.get("resourceType") == "DocumentReference":
        return [c.get("attachment") or {} for c in record.get("content") or []]
    return list(record.get("presentedForm") or [])


def _title(record: Json, reference: Json) -> str:
    """description, type or code text, else the name the ServiceRequest gives it."""
    concept: dict[str, Any] = record.get("type") or record.get("code") or {}
    codings = concept.get("coding") or [{}]
    return str(record.get("description") or concept.get("text") or codings[0].get("display")
               or reference.get("display") or "Untitled record")


def _date(record: Json) -> str:
    period: dict[str, Any] = record.get("effectivePeriod") or {}
    value = (record.get("date") or record.get("effectiveDateTime") or period.get("start")
             or record.get("issued") or "")
    return str(value)[:10] or "—"


def _kind(record: Json) -> str:
    """Document (and its type) or Diagnostic report (and its category)."""
    if record["resourceType"] == "DiagnosticReport":
        concepts = list(record.get("category") or [])
    else:
        concepts = [record.get("type") or {}]
    texts = [str(c.get("text") or ((c.get("coding") or [{}])[0]).get("display") or "")
             for c in concepts if isinstance(c, dict)]
    detail = next((text for text in texts if text), "")
    kind = _KINDS[record["resourceType"]]
    return f"{kind}: {detail}" if detail else kind


def _file_name(attachment: Json, record_number: int, file_number: int, kind: str) -> str:
    """ASCII letters, digits, dot, dash and underscore only, with the type's extension."""
    stem = _UNSAFE_NAME.sub("-", str(attachment.get("title") or "")).strip("-.")
    extension = mimetypes.guess_extension(kind.split(";")[0].strip()) or ".bin"
    stem = stem or f"record-{record_number}-file-{file_number}"
    return stem if stem.lower().endswith(extension) else f"{stem}{extension}"
