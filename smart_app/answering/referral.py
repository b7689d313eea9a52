"""One incoming referral, as its page shows it: the Task, its request, the patient, the claim, the records.

Two round trips: a search for the Task by id with its ServiceRequest and Patient included, then one
batch for the reason Conditions, the Coverage and the shared records. A Task that is not one of ours,
or not owned by this physician, their roles or their organizations, is "not found" (404) exactly as
a Task that does not exist, so another physician's referral shows nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.element import mappings_from_element
from fhir_mappings.errors import MappingError
from fhir_mappings.incoming import (
    AnsweringPhysician,
    IncomingReferral,
    incoming_from_task,
    is_referral_task,
    owned_by,
)
from fhir_mappings.reference import reference_from_reference, resources_by_reference
from fhir_mappings.review_records import (
    ReviewRecord,
    added_record_inputs,
    record_references,
    review_records,
)
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import read_all
from smart_app.errors import EhrError, ReferralNotFound

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # https://hl7.org/fhir/R4/datatypes.html#id


@dataclass(frozen=True)
class OpenReferral:
    """A referral Task with everything its page needs, read from the physician's clinic."""

    incoming: IncomingReferral
    task: dict[str, Any]  # as read (meta.versionId is the If-Match of the next step)
    records: tuple[ReviewRecord, ...]
    resources: Mapping[str, Mapping[str, Any]]  # "Type/id" → what was read, for the record files


def not_found() -> ReferralNotFound:
    """The one answer for a Task that is missing, not ours, or someone else's."""
    return ReferralNotFound(
        "There is no such referral among yours.",
        "Open your list of referrals and choose one from there.",
    )


def owned_task(client: FhirClient, physician: AnsweringPhysician, task_id: str, ns: str) -> dict[str, Any]:
    """The Task as the clinic holds it now, if it is a referral owned by this physician."""
    task, _ = _task_with_includes(client, task_id, ns, physician)
    return task


def load_referral(
    client: FhirClient, physician: AnsweringPhysician, task_id: str, ns: str, today: date
) -> OpenReferral:
    """The Task, its request, patient, reasons, claim and records, or ReferralNotFound."""
    task, known = _task_with_includes(client, task_id, ns, physician)
    request = known.get(reference_from_reference(task.get("focus")) or "", {})
    references = record_references(request, task, ns)
    wanted = [ref for ref in _reason_and_claim(request) + references if ref not in known]
    if wanted:
        known.update(resources_by_reference([e.resource for e in read_all(client, wanted) if e.resource]))
    later = {reference_from_reference(i.get("valueReference")) or "" for i in added_record_inputs(task, ns)}
    try:
        incoming = incoming_from_task(task, known, ns, today)
    except MappingError as error:
        raise EhrError("Your clinic's referral could not be read as FHIR R4.") from error
    return OpenReferral(incoming, task, tuple(review_records(references, known, later)), known)


def _task_with_includes(
    client: FhirClient, task_id: str, ns: str, physician: AnsweringPhysician
) -> tuple[dict[str, Any], dict[str, Mapping[str, Any]]]:
    if not FHIR_ID.fullmatch(task_id):
        raise not_found()
    query = urlencode([("_id", task_id), ("_include", "Task:focus"), ("_include", "Task:patient")])
    resources = resources_from_bundle(client.get_relative(f"Task?{query}"))
    task = next((r for r in resources if r.get("resourceType") == "Task" and r.get("id") == task_id), None)
    if task is None or not is_referral_task(task, ns) or not owned_by(task, physician):
        raise not_found()
    return task, resources_by_reference(resources)


def _reason_and_claim(request: Mapping[str, Any]) -> list[str]:
    """The reason Conditions and the Coverage the ServiceRequest names."""
    items = [*mappings_from_element(request.get("reasonReference")),
             *mappings_from_element(request.get("insurance"))]  # fmt: skip
    return [ref for item in items if (ref := reference_from_reference(item))]
