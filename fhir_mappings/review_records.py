"""The records a referral shares for review, as the second-opinion physician opens them at the clinic.

The delivered ServiceRequest names them in ``supportingInfo`` and records sent later are Task inputs
(``task-io|record``, docs/delivery.md); every file (DocumentReference ``content.attachment``,
DiagnosticReport ``presentedForm``) arrived with its content inline
(https://hl7.org/fhir/R4/datatypes.html#Attachment), so the page serves it from the clinic's own
server and never reaches back to the EHR. Only types a browser shows safely are shown in the page;
anything else is offered as a download.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappings.codeable_concept import text_from_codeable_concept
from fhir_mappings.codes import TASK_INPUT_RECORD, TASK_IO_SYSTEM_ID, local_system
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.reference import reference_from_reference

# media type → file extension, for what a browser shows itself (anything else is downloaded)
SHOWN = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
         "image/webp": ".webp", "text/plain": ".txt"}  # fmt: skip
RECORD_TYPES = ("DocumentReference", "DiagnosticReport")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]*/[\w!#$&^.+-]+")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_KINDS = {"DocumentReference": "Document", "DiagnosticReport": "Diagnostic report"}


@dataclass(frozen=True)
class ReviewFile:
    """One file of a shared record."""

    number: int  # 1-based, in the record's order
    title: str
    media_type: str  # lower case, without parameters; application/octet-stream when unreadable

    @property
    def shown(self) -> bool:
        """True for a PDF, an image or plain text: the browser shows it in the page."""
        return self.media_type in SHOWN


@dataclass(frozen=True)
class ReviewRecord:
    """One record of the page's "Records for review"."""

    number: int  # 1-based, in the order the referral names them
    reference: str  # "DocumentReference/<id>" at the clinic
    title: str
    date: str | None
    kind: str
    files: tuple[ReviewFile, ...]
    added_later: bool = False  # sent after the physician asked for more


def record_references(service_request: Mapping[str, Any], task: Mapping[str, Any], ns: str) -> list[str]:
    """The shared records' references, in order: the request's, then those added to the Task."""
    supporting = mappings_from_element(service_request.get("supportingInfo"))
    found = [reference_from_reference(r) for r in supporting]
    found += [reference_from_reference(i.get("valueReference")) for i in added_record_inputs(task, ns)]
    unique: list[str] = []
    for reference in found:
        if reference and reference.split("/", 1)[0] in RECORD_TYPES and reference not in unique:
            unique.append(reference)
    return unique


def added_record_inputs(task: Mapping[str, Any], ns: str) -> list[Mapping[str, Any]]:
    """The Task inputs ``task-io|record``: records the ATP sent after the physician asked for more."""
    system = local_system(ns, TASK_IO_SYSTEM_ID)

    def is_record(item: Mapping[str, Any]) -> bool:
        codings = mappings_from_element(mapping_from_element(item.get("type")).get("coding"))
        return any(c.get("system") == system and c.get("code") == TASK_INPUT_RECORD[0] for c in codings)

    return [item for item in mappings_from_element(task.get("input")) if is_record(item)]


def review_records(
    references: list[str], resources: Mapping[str, Mapping[str, Any]], later: set[str]
) -> list[ReviewRecord]:
    """The records the clinic holds among ``references``; ``later`` = those added after a request."""
    rows = []
    for number, reference in enumerate(references, start=1):
        record = resources.get(reference)
        if record is None:
            continue
        files = tuple(ReviewFile(n, string_from_element(a.get("title")) or f"File {n}", media_type(a))
                      for n, a in enumerate(attachments(record), start=1))  # fmt: skip
        rows.append(ReviewRecord(number, reference, _title(record), _date(record), _kind(record), files,
                                 reference in later))  # fmt: skip
    return rows


def attachments(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A DocumentReference's content attachments, or a DiagnosticReport's presentedForm."""
    if record.get("resourceType") == "DocumentReference":
        contents = mappings_from_element(record.get("content"))
        return [mapping_from_element(content.get("attachment")) for content in contents]
    return mappings_from_element(record.get("presentedForm"))


def file_content(attachment: Mapping[str, Any]) -> bytes | None:
    """The attachment's inline data, decoded; None when it has none or it is not base64."""
    data = attachment.get("data")
    if not isinstance(data, str) or not data.strip():
        return None
    try:
        return base64.b64decode("".join(data.split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def media_type(attachment: Mapping[str, Any]) -> str:
    """The attachment's media type without parameters, when it is a well-formed one."""
    value = (string_from_element(attachment.get("contentType")) or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else "application/octet-stream"


def file_name(attachment: Mapping[str, Any], record: int, file: int) -> str:
    """A safe file name: ASCII letters, digits, dot, dash and underscore, with the type's extension."""
    stem = _UNSAFE_NAME.sub("-", string_from_element(attachment.get("title")) or "").strip("-.")[:80]
    extension = SHOWN.get(media_type(attachment), ".bin")
    stem = stem or f"record-{record}-file-{file}"
    return stem if stem.lower().endswith(extension) else f"{stem}{extension}"


def _title(record: Mapping[str, Any]) -> str:
    """description, type or code text, else "Untitled record"."""
    concept = record.get("type") or record.get("code")
    return (string_from_element(record.get("description")) or text_from_codeable_concept(concept)
            or "Untitled record")  # fmt: skip


def _date(record: Mapping[str, Any]) -> str | None:
    period = mapping_from_element(record.get("effectivePeriod"))
    for value in (record.get("date"), record.get("effectiveDateTime"), period.get("start"),
                  record.get("issued")):  # fmt: skip
        if text := string_from_element(value):
            return text[:10]
    return None


def _kind(record: Mapping[str, Any]) -> str:
    """Document (and its category) or Diagnostic report (and its category)."""
    kind = _KINDS.get(str(record.get("resourceType")), "Record")
    categories = [text_from_codeable_concept(c) for c in mappings_from_element(record.get("category"))]
    detail = next((text for text in categories if text), None)
    return f"{kind}: {detail}" if detail else kind
