"""The records a record review shares, read from the EHR at send time with the ATP's token.

The chosen records are read again in one ``batch`` (parallel GETs from a server without
batch, or from one that refuses a whole batch for one entry, as the sandbox's scope gateway
does, so that the refusal can name the record). Each must still be the patient's and not
withdrawn (fhir_mappings/record.py). Attachments given only by ``url`` are fetched from the
EHR itself, never from another address (fhir_mappings/attachment.py), and inlined as base64,
so the clinic needs no access to the EHR. Each file must be of a type a clinic can open, its
bytes matching that type (fhir_mappings/file_type.py). The records' files together may carry at most
``MAX_SHARED_BYTES``: the record that would pass it is named. Every refusal is a
ReferralInvalid in plain words, raised before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from fhir_mappings.attachment import (
    attachments_from_record,
    inlined_attachment,
    record_with_attachments,
    url_on_server,
)
from fhir_mappings.bundle import BatchEntryResponse
from fhir_mappings.domain import RecordSummary, Referral
from fhir_mappings.element import string_from_element
from fhir_mappings.errors import MappingError, ReferralRuleError
from fhir_mappings.file_type import FileRefused, check_shareable_file
from fhir_mappings.record import UNTICK, checked_record_from_resource
from fhir_mappings.shared_record import shared_record_from_resource
from fhir_mappings.transaction import ehr_resource_identifier
from smart_app.chart.fhir_client import BatchUnsupported, Content, ContentTooLarge, FhirClient, NotOnServer
from smart_app.chart.reader import PARALLEL_READS
from smart_app.errors import EhrError, EhrForbidden, ReferralInvalid, ResourceNotFound

logger = logging.getLogger(__name__)

MAX_SHARED_BYTES = 10 * 1024 * 1024  # the records' files per referral, decoded (docs/delivery.md)
_JSON_SLACK = 64 * 1024  # a Binary arrives as base64 inside JSON: 4/3 of its size and a little more
_ANY_PATIENT = "urn:uuid:00000000-0000-0000-0000-000000000000"  # a copy's validity does not depend on it


@dataclass
class _Budget:
    """The bytes of files the referral may still carry."""

    limit: int
    used: int = 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    def spend(self, record: RecordSummary, size: int) -> None:
        """Count a file of ``size`` bytes, or refuse the record that would pass the limit."""
        if size > self.left:
            raise self.too_large(record)
        self.used += size

    def too_large(self, record: RecordSummary) -> ReferralInvalid:
        return ReferralInvalid(
            f"“{record.title}” is too large to send with the referral: the records' files may add "
            f"up to {self.limit / 1024 / 1024:g} MiB at most. Untick it or another record; "
            "nothing was sent."
        )


def shared_records(
    client: FhirClient, referral: Referral, namespace: str, max_bytes: int = MAX_SHARED_BYTES
) -> tuple[dict[str, Any], ...]:
    """The chosen records as the EHR holds them now, checked, their attachments inlined."""
    if not referral.records:
        return ()
    entries = _read(client, [record.reference for record in referral.records])
    budget, shared = _Budget(max_bytes), []
    try:
        for record, entry in zip(referral.records, entries, strict=True):
            resource = _checked(record, entry, referral.patient.reference)
            resource = _inlined(client, record, resource, budget)
            _check_sendable(record, resource, namespace, client.base_url)
            shared.append(resource)
    except ReferralInvalid:
        logger.info("referral.records_refused id=%s", referral.id)
        raise
    logger.info("referral.records_read id=%s count=%s bytes=%s", referral.id, len(shared), budget.used)
    return tuple(shared)


def _read(client: FhirClient, urls: list[str]) -> list[BatchEntryResponse]:
    """One batch; one GET per record from a server without batch or refusing the whole batch."""
    if not client.no_batch:
        try:
            entries = client.batch(urls)
        except (BatchUnsupported, EhrForbidden):
            pass
        except MappingError as error:
            raise EhrError("The EHR's answer did not match what Second Opinion asked for.") from error
        else:
            if len(entries) != len(urls):  # R4 http.html#transaction-response: one entry per request
                raise EhrError("The EHR's answer did not match what Second Opinion asked for.")
            return entries
    with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(urls))) as pool:
        return list(pool.map(partial(_read_one, client), urls))


def _read_one(client: FhirClient, url: str) -> BatchEntryResponse:
    try:
        return BatchEntryResponse(200, client.get_relative(url))
    except ResourceNotFound:
        return BatchEntryResponse(404)
    except EhrForbidden:
        return BatchEntryResponse(403)


def _checked(record: RecordSummary, entry: BatchEntryResponse, patient: str) -> dict[str, Any]:
    """The record read, if it may still be shared; ReferralInvalid naming it otherwise."""
    if entry.status in (404, 410):
        raise ReferralInvalid(f"“{record.title}” is no longer in the EHR. {UNTICK}")
    if entry.status in (401, 403):
        raise ReferralInvalid(
            f"The EHR no longer lets Second Opinion read “{record.title}” for this patient: it may "
            f"have been moved to another patient's chart or restricted. {UNTICK}"
        )
    if entry.status >= 400 or entry.resource is None:
        raise EhrError("The EHR did not return one of the records chosen.")
    try:
        return checked_record_from_resource(entry.resource, record, patient)
    except ReferralRuleError as error:
        raise ReferralInvalid(str(error)) from error


def _inlined(
    client: FhirClient, record: RecordSummary, resource: dict[str, Any], budget: _Budget
) -> dict[str, Any]:
    """The record with every attachment carrying its content, counted against the budget."""
    attachments = attachments_from_record(resource)
    inlined = [_attachment(client, record, attachment, budget) for attachment in attachments]
    return record_with_attachments(resource, inlined)


def _attachment(
    client: FhirClient, record: RecordSummary, attachment: Mapping[str, Any], budget: _Budget
) -> dict[str, Any]:
    """Kept when it has ``data``; fetched from the EHR and inlined when it has only a ``url``."""
    if isinstance(attachment.get("data"), str):
        data = _decoded(record, attachment["data"])
        budget.spend(record, len(data))
        _check_file(record, string_from_element(attachment.get("contentType")), data)
        return dict(attachment)
    url = string_from_element(attachment.get("url"))
    if url is None:
        return dict(attachment)  # a title or type alone: nothing to carry
    target = url_on_server(client.base_url, url)
    if target is None:
        raise _elsewhere(record)
    content_type, data = _fetched(client, record, target, budget)
    budget.spend(record, len(data))
    inlined = inlined_attachment(attachment, content_type, base64.b64encode(data).decode("ascii"))
    _check_file(record, inlined["contentType"], data)
    return inlined


def _check_file(record: RecordSummary, content_type: str | None, data: bytes) -> None:
    """Only files a clinic can open, whose bytes are what their type says (fhir_mappings/file_type.py)."""
    try:
        check_shareable_file(content_type, data)
    except FileRefused as refused:
        raise ReferralInvalid(f"The file of “{record.title}” {refused} {UNTICK}") from refused


def _fetched(
    client: FhirClient, record: RecordSummary, url: str, budget: _Budget
) -> tuple[str | None, bytes]:
    """The file's type and bytes: a Binary resource unwrapped, any other answer as it came."""
    try:
        content = client.fetch(url, budget.left * 4 // 3 + _JSON_SLACK)
    except ContentTooLarge as error:
        raise budget.too_large(record) from error
    except NotOnServer as error:
        raise _elsewhere(record) from error
    except ResourceNotFound as error:
        raise ReferralInvalid(f"The file of “{record.title}” is no longer in the EHR. {UNTICK}") from error
    except EhrForbidden as error:
        raise ReferralInvalid(
            f"The EHR did not let Second Opinion read the file of “{record.title}”. {UNTICK}"
        ) from error
    content_type, data = _unwrapped(record, content)
    if not data:
        raise ReferralInvalid(f"The file of “{record.title}” is empty in the EHR. {UNTICK}")
    return content_type, data


def _elsewhere(record: RecordSummary) -> ReferralInvalid:
    return ReferralInvalid(
        f"“{record.title}” keeps its file at another address than the EHR, so Second Opinion "
        f"cannot send it. {UNTICK}"
    )


def _unwrapped(record: RecordSummary, content: Content) -> tuple[str | None, bytes]:
    """https://hl7.org/fhir/R4/binary.html#rest: asked for FHIR JSON, a server answers a Binary."""
    if "json" not in (content.content_type or ""):
        return content.content_type, content.data
    try:
        body = json.loads(content.data)
    except ValueError:
        return content.content_type, content.data
    if not isinstance(body, dict) or body.get("resourceType") != "Binary":
        return content.content_type, content.data
    data = body.get("data")
    if not isinstance(data, str):
        data = ""
    return string_from_element(body.get("contentType")), _decoded(record, data)


def _decoded(record: RecordSummary, data: str) -> bytes:
    """base64Binary may hold whitespace (https://hl7.org/fhir/R4/datatypes.html#base64Binary)."""
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ReferralInvalid(f"The EHR's copy of “{record.title}” is damaged. {UNTICK}") from error


def _check_sendable(record: RecordSummary, resource: Mapping[str, Any], namespace: str, iss: str) -> None:
    """Build the clinic's copy once now, so that a record that cannot be sent is refused before the write."""
    identifier = ehr_resource_identifier(namespace, iss, record.reference)
    try:
        shared_record_from_resource(resource, identifier, _ANY_PATIENT)
    except MappingError as error:
        raise ReferralInvalid(
            f"“{record.title}” could not be read as a FHIR R4 record, so it cannot be sent. {UNTICK}"
        ) from error

