"""Everything the compose page needs from the EHR, read in one ``batch`` round trip.

Patient, active Conditions, Coverage, the ATP and the physician directory go
in one batch, asking for pages as large as servers commonly allow; only a chart
larger than the server's page costs more requests (its ``next`` links). A
server without batch gets the same reads in parallel. A chart is never
silently partial: the conditions not read are counted and shown. The chart is
kept with the launch so that the form's further steps cost no reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
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
    RecordSummary,
    Requester,
)
from fhir_mappings.errors import MappingError
from fhir_mappings.patient import patient_summary_from_patient
from fhir_mappings.record import records_from_resources
from smart_app.chart.fhir_client import BatchUnsupported, FhirClient
from smart_app.chart.paging import all_pages, matches, total_of
from smart_app.errors import EhrError, ResourceNotFound

PAGE_SIZE = 1000  # R4 leaves the maximum to the server (http.html#paging); many cap here
PARALLEL_READS = 6
RECORD_COUNT = 50  # the newest documents and reports offered for a record review
CONDITION_FIELDS = tuple(f.name for f in fields(ConditionSummary))  # the stored row, in field order
# chart_urls order; the granted scopes may rule out the SKIPPABLE ones (and no fhirUser, "you")
ENTRY_NAMES = (
    "patient", "conditions", "coverage", "user", "roles", "directory", "documents", "reports", "endpoints",
)
SKIPPABLE = frozenset({"conditions", "coverage", "documents", "reports"})
ROLE_INCLUDES = (
    "_include=PractitionerRole:practitioner&_include=PractitionerRole:organization"
    "&_include=PractitionerRole:service&_include:iterate=Organization:partof"
)
_DIRECTORY = f"PractitionerRole?active=true&{ROLE_INCLUDES}&_count=200"


@dataclass(frozen=True)
class Chart:
    """The patient context and the choices the ATP composes a referral from."""

    patient: PatientSummary
    conditions: tuple[ConditionSummary, ...]
    coverage: CoverageSummary | None
    requester: Requester
    physicians: tuple[Physician, ...]
    clinics: Mapping[str, Clinic]
    records: tuple[RecordSummary, ...] = ()  # for a record review: DocumentReference, DiagnosticReport
    conditions_total: int | None = None  # the EHR's count of active conditions, when it says
    conditions_cut: bool = False  # True when paging stopped before the last page

    @property
    def conditions_partial(self) -> bool:
        """True when the EHR holds active conditions that are not in ``conditions``."""
        return self.conditions_cut or (self.conditions_total or 0) > len(self.conditions)

    def condition(self, reference: str) -> ConditionSummary | None:
        """The chart's condition with this reference, if any."""
        return next((c for c in self.conditions if c.reference == reference), None)

    def physician(self, role_reference: str) -> Physician | None:
        """The directory entry with this PractitionerRole reference, if any."""
        return next((p for p in self.physicians if p.role_reference == role_reference), None)

    def record(self, reference: str) -> RecordSummary | None:
        """The chart's shareable record with this reference, if any."""
        return next((r for r in self.records if r.reference == reference), None)


def chart_urls(patient_id: str, fhir_user: str) -> list[str]:
    """The batch entries, in ``ENTRY_NAMES`` order; without a fhirUser the ATP's two are empty."""
    pid = quote(patient_id, safe="")
    you = ["", ""]
    if fhir_user:
        user = reference_from_url(fhir_user)
        user_type, user_id = user.split("/", 1)
        role_query = (
            f"_id={quote(user_id, safe='')}"
            if user_type == "PractitionerRole"
            else f"practitioner={quote(user, safe='/')}"
        )
        you = [user, f"PractitionerRole?{role_query}&{ROLE_INCLUDES}"]
    return [
        f"Patient/{pid}",
        f"Condition?patient={pid}&clinical-status=active&_count={PAGE_SIZE}",
        f"Coverage?patient={pid}",
        *you,
        _DIRECTORY,
        f"DocumentReference?patient={pid}&_sort=-date&_count={RECORD_COUNT}",
        f"DiagnosticReport?patient={pid}&_sort=-date&_count={RECORD_COUNT}",
        "Endpoint?status=active&_count=200",  # where to deliver: not every server has :endpoint
    ]


def load_chart(
    client: FhirClient, patient_id: str, fhir_user: str, namespace: str,
    skip: frozenset[str] = frozenset(),
) -> Chart:
    """Read the chart: one batch, then the conditions' further pages if any.

    ``skip`` names entries of ``SKIPPABLE`` the granted scopes do not allow: they are
    not asked for and read as empty (scopes-and-launch-context.html).
    """
    if not skip <= SKIPPABLE:
        raise ValueError(f"only {sorted(SKIPPABLE)} may be skipped")
    if not fhir_user:  # an open server launched without a requester: no "you" to read
        skip = skip | {"user", "roles"}
    named = dict(zip(ENTRY_NAMES, chart_urls(patient_id, fhir_user), strict=True))
    names = [name for name in ENTRY_NAMES if name not in skip]
    urls = [named[name] for name in names]
    return chart_from_entries(client, urls, read_all(client, urls), fhir_user, namespace, names)


def read_all(client: FhirClient, urls: list[str]) -> list[BatchEntryResponse]:
    """One batch; a server without batch (or refusing it) gets the same GETs in parallel."""
    if not client.no_batch:
        try:
            return client.batch(urls)
        except BatchUnsupported:
            pass
        except MappingError as error:
            raise EhrError("The EHR's answer did not match what Second Opinion asked for.") from error
    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        return list(pool.map(client.get_entry, urls))


def chart_from_entries(
    client: FhirClient,
    urls: list[str],
    entries: list[BatchEntryResponse],
    fhir_user: str,
    namespace: str,
    names: Sequence[str] = ENTRY_NAMES,
) -> Chart:
    """The chart from the answers to ``urls`` (named ``names``); anything unreadable is a 502."""
    if len(entries) != len(urls):  # R4 http.html#transaction-response: one entry per request
        raise EhrError("The EHR's answer did not match what Second Opinion asked for.")
    got = dict(zip(names, entries, strict=True))
    try:
        return _chart(client, dict(zip(names, urls, strict=True)), got, fhir_user, namespace)
    except MappingError as error:  # FHIR the mappers cannot read: the EHR's fault, not ours
        raise EhrError("The EHR's answer could not be read as FHIR R4.") from error


def _chart(
    client: FhirClient,
    urls: Mapping[str, str],
    got: Mapping[str, BatchEntryResponse],
    fhir_user: str,
    namespace: str,
) -> Chart:
    condition_resources: list[dict[str, Any]] = []
    total, cut = None, False
    if "conditions" in got:
        condition_resources, total, cut = _all_conditions(
            client, _bundle(got["conditions"], "conditions"), urls["conditions"]
        )
    coverage_resources = _resources(got, "coverage", "coverage")
    role_resources = _resources(got, "roles", "your roles")
    directory_resources = _resources(got, "directory", "directory")
    directory_resources += _resources(got, "endpoints", "directory endpoints")
    user_resources = [got["user"].resource] if "user" in got and got["user"].resource else []
    record_resources = [
        resource
        for name in ("documents", "reports")
        if name in got
        for resource in matches(_bundle(got[name], name))
    ]
    summary = patient_summary_from_patient(_resource(got["patient"], "patient"))
    return Chart(
        patient=summary,
        conditions=tuple(condition_summary_from_condition(c) for c in condition_resources),
        coverage=workers_comp_coverage_from_coverages(
            [coverage_summary_from_coverage(c) for c in coverage_resources]
        ),
        requester=(requester_from_resources(fhir_user, user_resources + role_resources, namespace)
                   if fhir_user else Requester(reference="")),
        physicians=tuple(physicians_from_resources(directory_resources, namespace)),
        clinics=clinics_from_resources(role_resources + directory_resources),
        records=tuple(records_from_resources(record_resources, summary.reference)),
        conditions_total=total,
        conditions_cut=cut,
    )


def _resource(entry: BatchEntryResponse, what: str) -> dict[str, Any]:
    if entry.status == 404:
        raise ResourceNotFound(f"The EHR could not find the {what} of this launch.")
    if entry.status >= 400 or entry.resource is None:
        raise EhrError(f"The EHR did not return the {what}.")
    return entry.resource


def _resources(
    got: Mapping[str, BatchEntryResponse], name: str, what: str
) -> list[dict[str, Any]]:
    """The resources of one search entry; none when that entry was not asked for."""
    return resources_from_bundle(_bundle(got[name], what)) if name in got else []


def _bundle(entry: BatchEntryResponse, what: str) -> dict[str, Any]:
    bundle = _resource(entry, what)
    if bundle.get("resourceType") != "Bundle":
        raise EhrError(f"The EHR did not return the {what}.")
    return bundle


def _all_conditions(
    client: FhirClient, first: dict[str, Any], search: str
) -> tuple[list[dict[str, Any]], int | None, bool]:
    """Every match, the EHR's total and whether paging was cut short (never silently partial)."""
    resources, complete = all_pages(client, first)
    total = total_of(first)
    if complete and total is not None and total > len(resources) and not next_link_from_bundle(first):
        # Some servers cut a search short inside a batch without a next link: search on its own.
        again = client.get_relative(search)
        resources, complete = all_pages(client, again)
        total = total_of(again) if total_of(again) is not None else total
    return resources, total, not complete


def chart_to_json(chart: Chart) -> str:
    """Serialise the chart for the launch record; conditions as rows (their labels, no keys)."""
    raw = asdict(chart)
    raw["conditions"] = [[getattr(c, f) for f in CONDITION_FIELDS] for c in chart.conditions]
    return json.dumps(raw, separators=(",", ":"))


def chart_from_json(text: str) -> Chart:
    """Rebuild the chart that ``chart_to_json`` stored."""
    raw = json.loads(text)
    requester = raw["requester"]
    return Chart(
        patient=PatientSummary(**raw["patient"]),
        conditions=tuple(ConditionSummary(*c) for c in raw["conditions"]),
        coverage=CoverageSummary(**raw["coverage"]) if raw["coverage"] else None,
        requester=Requester(**{**requester, "organization": _clinic(requester["organization"])}),
        physicians=tuple(_physician(p) for p in raw["physicians"]),
        clinics={ref: Clinic(**_tuples(c)) for ref, c in raw["clinics"].items()},
        records=tuple(RecordSummary(**r) for r in raw.get("records", [])),
        conditions_total=raw.get("conditions_total"),
        conditions_cut=bool(raw.get("conditions_cut")),
    )


def _physician(raw: dict[str, Any]) -> Physician:
    return Physician(**{**_tuples(raw), "clinic": _clinic(raw["clinic"])})


def _clinic(raw: dict[str, Any] | None) -> Clinic | None:
    return Clinic(**_tuples(raw)) if raw else None


def _tuples(raw: dict[str, Any]) -> dict[str, Any]:
    """JSON arrays back to the tuples the frozen dataclasses hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
