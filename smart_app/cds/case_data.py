"""The chart data a hook needs: the prefetch the CDS client sent, and for what it left out, one batch.

CDS Hooks 2.0 §Providing FHIR Resources: a key the client did not satisfy is absent, one it
had no data for is null. The missing ones are read with ``fhirAuthorization`` from the EHR's
registered FHIR server only (the token never goes anywhere else), in one ``batch``; without a
token the service answers 412.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mappings.bundle import resources_from_bundle
from smart_app.cds.discovery import query_for_patient
from smart_app.cds.errors import CdsDataMissing, CdsRequestInvalid
from smart_app.cds.hook_request import HookRequest
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import read_all
from smart_app.config import Registration
from smart_app.errors import EhrError
from smart_app.http_pool import HttpPool

# prefetch key → (the rules' kind, the resource type it holds)
KINDS: Mapping[str, tuple[str, str]] = {
    "conditions": ("conditions", "Condition"),
    "coverage": ("coverages", "Coverage"),
    "encounters": ("encounters", "Encounter"),
    "mmi": ("observations", "Observation"),
    "functionScores": ("observations", "Observation"),
    "workRestrictions": ("observations", "Observation"),
    "secondOpinions": ("service_requests", "ServiceRequest"),
}


def case_resources(
    request: HookRequest, templates: Mapping[str, str], registration: Registration, http: HttpPool
) -> dict[str, list[dict[str, Any]]]:
    """Resources by kind (conditions, coverages, encounters, observations, service_requests)."""
    got: dict[str, dict[str, Any] | None] = dict(request.prefetch)
    missing = [key for key in templates if key not in got]
    if missing:
        got |= _read_missing(request, templates, missing, registration, http)
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind, _ in KINDS.values()}
    for key, value in got.items():
        if value is None or key not in KINDS:
            continue
        kind, resource_type = KINDS[key]
        found = resources_from_bundle(value) if value.get("resourceType") == "Bundle" else [value]
        out[kind] += [r for r in found if r.get("resourceType") == resource_type]
    return out


def _read_missing(
    request: HookRequest,
    templates: Mapping[str, str],
    missing: list[str],
    registration: Registration,
    http: HttpPool,
) -> dict[str, dict[str, Any] | None]:
    if request.authorization is None:
        raise CdsDataMissing(
            f"Prefetch is missing {', '.join(missing)} and no fhirAuthorization was given to read them.",
            "Fill the discovery document's prefetch templates, or send fhirServer and fhirAuthorization.",
        )
    if request.fhir_server != registration.iss:
        raise CdsRequestInvalid(
            "fhirServer is not the FHIR server registered for this EHR; the token was not used.",
            "Send the FHIR base URL the EHR is registered with (its iss).",
        )
    base = registration.iss
    client = FhirClient(http.for_url(base), base, request.authorization.access_token, http.timeout)
    urls = [query_for_patient(templates[key], request.patient_id) for key in missing]
    try:
        entries = read_all(client, urls)
    except EhrError as error:
        raise CdsDataMissing("The EHR's FHIR server did not give the data this service needs.") from error
    if any(entry.status >= 400 for entry in entries):
        raise CdsDataMissing("The EHR's FHIR server refused some of the reads this service needs.")
    return {key: entry.resource for key, entry in zip(missing, entries, strict=True)}
