"""The physician's incoming referrals: the Tasks owned by them, their roles or their organizations.

One search with the focus ServiceRequests and the Patients included, then one batch for the
workers' comp Coverages the requests name (the claim number). Ownership is checked again here,
whatever the server's search returned (fhir_mappings/incoming.py ``owned_by``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.codes import FULFILL
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
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import read_all
from smart_app.errors import EhrError

WORKLIST_SIZE = 200  # the newest referrals; an older one is opened from the EHR's own in-basket


def load_worklist(
    client: FhirClient, physician: AnsweringPhysician, ns: str, today: date
) -> list[IncomingReferral]:
    """The physician's referral Tasks, newest first, each with patient, claim and status."""
    query = urlencode([
        ("owner", ",".join(sorted(physician.owners))), ("code", f"{FULFILL.system}|{FULFILL.code}"),
        ("_include", "Task:focus"), ("_include", "Task:patient"), ("_sort", "-authored-on"),
        ("_count", str(WORKLIST_SIZE)),
    ])  # fmt: skip
    bundle = client.get_relative(f"Task?{query}")
    resources = resources_from_bundle(bundle)
    tasks = [r for r in resources if is_referral_task(r, ns) and owned_by(r, physician)]
    known = resources_by_reference(resources)
    known.update(resources_by_reference(_read_missing(client, tasks, known)))
    try:
        return [incoming_from_task(task, known, ns, today) for task in tasks]
    except MappingError as error:
        raise EhrError("Your clinic's referrals could not be read as FHIR R4.") from error


def _read_missing(
    client: FhirClient, tasks: list[dict[str, Any]], known: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The Patients and Coverages the rows need that the search did not include: one batch."""
    wanted: list[str] = []
    for task in tasks:
        request = known.get(reference_from_reference(task.get("focus")) or "", {})
        candidates = [reference_from_reference(task.get("for"))]
        candidates += [reference_from_reference(i) for i in mappings_from_element(request.get("insurance"))]
        wanted += [ref for ref in candidates if ref and ref not in known and ref not in wanted]
    if not wanted:
        return []
    return [entry.resource for entry in read_all(client, wanted) if entry.resource]
