"""Everything the compose page needs from the EHR, read in one ``batch`` round trip.

Patient, active Conditions, Coverage, the ATP and the physician directory go
in one batch; only a chart larger than a page costs more requests (its
``next`` links). The chart is kept in the launch session so that the form's
further steps cost no reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from fhir_mappings.bundle import BatchEntryResponse, next_link_from_bundle, resources_from_bundle
from fhir_mappings.condition import condition_summary_from_condition
from fhir_mappings.coverage import (
    coverage_summary_from_coverage,
    workers_comp_coverage_from_coverages,
)
from fhir_mappings.directory import (
    clinics_from_resources,
    physicians_from_resources,
    reference_from_url,
    requester_from_resources,
)
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    CoverageSummary,
    PatientSummary,
    Physician,
    Requester,
)
from fhir_mappings.patient import patient_summary_from_patient
from smart_app.errors import EhrError, ResourceNotFound
from smart_app.fhir_client import FhirClient

PAGE_SIZE = 100
MAX_CONDITION_PAGES = 20  # 2,000 active conditions: past that the chart is not read whole
ROLE_INCLUDES = (
    "_include=PractitionerRole:practitioner&_include=PractitionerRole:organization"
    "&_include:iterate=Organization:partof"
)


@dataclass(frozen=True)
class Chart:
    """The patient context and the choices the ATP composes a referral from."""

    patient: PatientSummary
    conditions: tuple[ConditionSummary, ...]
    coverage: CoverageSummary | None
    requester: Requester
    physicians: tuple[Physician, ...]
    clinics: Mapping[str, Clinic]

    def condition(self, reference: str) -> ConditionSummary | None:
        """The chart's condition with this reference, if any."""
        return next((c for c in self.conditions if c.reference == reference), None)

    def physician(self, role_reference: str) -> Physician | None:
        """The directory entry with this PractitionerRole reference, if any."""
        return next((p for p in self.physicians if p.role_reference == role_reference), None)


def chart_urls(patient_id: str, fhir_user: str) -> list[str]:
    """The batch entries: patient, conditions, coverage, the ATP, the directory (in that order)."""
    pid = quote(patient_id, safe="")
    user = reference_from_url(fhir_user)
    user_type, user_id = user.split("/", 1)
    role_query = (
        f"_id={quote(user_id, safe='')}"
        if user_type == "PractitionerRole"
        else f"practitioner={quote(user, safe='/')}"
    )
    return [
        f"Patient/{pid}",
        f"Condition?patient={pid}&clinical-status=active&_count={PAGE_SIZE}",
        f"Coverage?patient={pid}",
        user,
        f"PractitionerRole?{role_query}&{ROLE_INCLUDES}",
        f"PractitionerRole?active=true&{ROLE_INCLUDES}&_count=200",
    ]


def load_chart(client: FhirClient, patient_id: str, fhir_user: str, namespace: str) -> Chart:
    """Read the chart: one batch, then the conditions' further pages if any."""
    urls = chart_urls(patient_id, fhir_user)
    entries = client.batch(urls)
    if len(entries) != len(urls):  # R4 http.html#transaction-response: one entry per request
        raise EhrError("The EHR's answer did not match what Second Opinion asked for.")
    patient, conditions, coverages, user, roles, directory = entries
    condition_resources = _all_pages(client, _bundle(conditions, "conditions"))
    coverage_resources = resources_from_bundle(_bundle(coverages, "coverage"))
    role_resources = resources_from_bundle(_bundle(roles, "your roles"))
    directory_resources = resources_from_bundle(_bundle(directory, "directory"))
    user_resources = [user.resource] if user.resource else []
    return Chart(
        patient=patient_summary_from_patient(_resource(patient, "patient")),
        conditions=tuple(condition_summary_from_condition(c) for c in condition_resources),
        coverage=workers_comp_coverage_from_coverages(
            [coverage_summary_from_coverage(c) for c in coverage_resources]
        ),
        requester=requester_from_resources(fhir_user, user_resources + role_resources),
        physicians=tuple(physicians_from_resources(directory_resources, namespace)),
        clinics=clinics_from_resources(role_resources + directory_resources),
    )


def _resource(entry: BatchEntryResponse, what: str) -> dict[str, Any]:
    if entry.status == 404:
        raise ResourceNotFound(f"The EHR could not find the {what} of this launch.")
    if entry.status >= 400 or entry.resource is None:
        raise EhrError(f"The EHR did not return the {what}.")
    return entry.resource


def _bundle(entry: BatchEntryResponse, what: str) -> dict[str, Any]:
    bundle = _resource(entry, what)
    if bundle.get("resourceType") != "Bundle":
        raise EhrError(f"The EHR did not return the {what}.")
    return bundle


def _all_pages(client: FhirClient, first: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources of the search's matches across pages (R4 http.html#paging)."""
    resources, page, pages = _matches(first), first, 1
    while (link := next_link_from_bundle(page)) and pages < MAX_CONDITION_PAGES:
        page = client.page(link)
        resources.extend(_matches(page))
        pages += 1
    return resources


def _matches(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry") or []
    return [
        e["resource"]
        for e in entries
        if isinstance(e.get("resource"), dict)
        and (e.get("search") or {}).get("mode", "match") == "match"
    ]


def chart_to_json(chart: Chart) -> str:
    """Serialise the chart for the launch session."""
    return json.dumps(asdict(chart), separators=(",", ":"))


def chart_from_json(text: str) -> Chart:
    """Rebuild the chart that ``chart_to_json`` stored."""
    raw = json.loads(text)
    requester = raw["requester"]
    return Chart(
        patient=PatientSummary(**raw["patient"]),
        conditions=tuple(ConditionSummary(**c) for c in raw["conditions"]),
        coverage=CoverageSummary(**raw["coverage"]) if raw["coverage"] else None,
        requester=Requester(**{**requester, "organization": _clinic(requester["organization"])}),
        physicians=tuple(_physician(p) for p in raw["physicians"]),
        clinics={ref: Clinic(**_tuples(c)) for ref, c in raw["clinics"].items()},
    )


def _physician(raw: dict[str, Any]) -> Physician:
    return Physician(**{**_tuples(raw), "clinic": _clinic(raw["clinic"])})


def _clinic(raw: dict[str, Any] | None) -> Clinic | None:
    return Clinic(**_tuples(raw)) if raw else None


def _tuples(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON arrays back to the tuples the frozen dataclasses hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
