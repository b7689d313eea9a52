"""What the ATP changes at the clinic through the worker: cancel the Task, deliver the records asked for.

Each update is one of the contract's pure steps (fhir_mappings/task_workflow.py), written with the
version read (``If-Match``), so a physician's change meanwhile is read again, never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fhir_mappings.bundle import responses_from_batch_response, transaction_from_creates
from fhir_mappings.domain import RecordSummary
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.reference import reference_from_url
from fhir_mappings.task_workflow import cancelled_task, records_added_task
from fhir_mappings.transaction import record_creates
from smart_app.referrals.clinic_http import Clinic, ClinicHttp, DeliveryFailed


def fhir_instant(moment: datetime) -> str:
    """A FHIR instant in UTC ("2026-12-06T19:05:00Z")."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def cancel_at_clinic(
    http: ClinicHttp, clinic: Clinic, task: Mapping[str, Any], reason: str, now: datetime
) -> dict[str, Any]:
    """The Task moved to ``cancelled`` with the ATP's words (https://hl7.org/fhir/R4/task.html#statemachine)."""
    moved = cancelled_task(task, fhir_instant(now), reason)
    return _put(http, clinic, moved, task)


def records_to_clinic(
    http: ClinicHttp,
    clinic: Clinic,
    task: Mapping[str, Any],
    pending: Mapping[str, Any],
    ns: str,
    now: datetime,
) -> dict[str, Any]:
    """Copies of the records (conditional creates on their version), the ServiceRequest's
    ``supportingInfo`` extended, then the Task back to in-progress with one input per record."""
    chosen = [RecordSummary(str(r["reference"]), r["kind"], str(r["title"])) for r in pending["records"]]
    patient = string_from_element(mapping_from_element(task.get("for")).get("reference")) or ""

    def entry_url(name: str) -> str:
        seed = f"{ns}/records/{task.get('id')}/{name}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"

    creates, _ = record_creates(chosen, pending["resources"], ns, str(pending["iss"]), patient, entry_url)
    base = clinic.receiver.base_url
    response = http.call(clinic, "POST", base, transaction_from_creates(creates))
    entries = responses_from_batch_response(response)
    if len(entries) != len(chosen) or any(e.status >= 400 or not e.location for e in entries):
        raise DeliveryFailed("The receiving clinic did not store the records.", transient=True)
    added = [(reference_from_url(e.location or ""), r.title) for e, r in zip(entries, chosen, strict=True)]
    _extend_supporting_info(http, clinic, task, added)
    moved = records_added_task(task, fhir_instant(now), added, ns)
    return _put(http, clinic, moved, task)


def _extend_supporting_info(
    http: ClinicHttp, clinic: Clinic, task: Mapping[str, Any], added: list[tuple[str, str]]
) -> None:
    """The clinic's ServiceRequest (the Task's focus) names the added records too."""
    focus = string_from_element(mapping_from_element(task.get("focus")).get("reference"))
    if not focus or not focus.startswith("ServiceRequest/"):
        return
    url = f"{clinic.receiver.base_url}/{focus}"
    request = http.call(clinic, "GET", url, None)
    supporting = mappings_from_element(request.get("supportingInfo"))
    known = {string_from_element(s.get("reference")) for s in supporting}
    new = [{"reference": ref, "display": title} for ref, title in added if ref not in known]
    if new:
        updated = {**request, "supportingInfo": [*supporting, *new]}
        http.call(clinic, "PUT", url, updated, if_match=_version(request))


def _put(http: ClinicHttp, clinic: Clinic, moved: dict[str, Any], read: Mapping[str, Any]) -> dict[str, Any]:
    """PUT the moved Task with the version it was read at."""
    url = f"{clinic.receiver.base_url}/Task/{read.get('id')}"
    return http.call(clinic, "PUT", url, moved, if_match=_version(read))


def _version(resource: Mapping[str, Any]) -> str | None:
    return string_from_element(mapping_from_element(resource.get("meta")).get("versionId"))
