"""The physician directory, read from its own FHIR server (docs/fhir-mapping.md §8).

``SMART_APP_DIRECTORY_URL`` names it; empty means the EHR itself, whose directory the chart's
one batch already reads with the launch's token (``smart_app.chart.reader``). Another server
is read here, with ``SMART_APP_DIRECTORY_BEARER`` when one is set and never with the ATP's
token: a real EHR does not list other clinics' physicians, national directories (NDH) do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_mappings.bundle import next_link_from_bundle, resources_from_bundle
from fhir_mappings.directory import clinics_from_resources, physicians_from_resources
from fhir_mappings.domain import Clinic, Physician
from smart_app.chart.fhir_client import FhirClient

DIRECTORY_SEARCH = (
    "PractitionerRole?active=true&_count=200"
    "&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization"
    "&_include=PractitionerRole:service&_include=PractitionerRole:endpoint"
    "&_include:iterate=Organization:partof"
)
MAX_DIRECTORY_PAGES = 10  # 2,000 roles: a directory larger than that must be searched by name


@dataclass(frozen=True)
class Directory:
    """The physicians and every Organization the search returned, by reference."""

    physicians: tuple[Physician, ...]
    clinics: dict[str, Clinic]


def load_directory(client: FhirClient, namespace: str) -> Directory:
    """One search with its includes, then its further pages (R4 search.html#include, http.html#paging)."""
    page = client.page(f"{client.base_url}/{DIRECTORY_SEARCH}")
    resources: list[dict[str, Any]] = resources_from_bundle(page)
    pages = 1
    while (link := next_link_from_bundle(page)) and pages < MAX_DIRECTORY_PAGES:
        page = client.page(link)
        resources.extend(resources_from_bundle(page))
        pages += 1
    return Directory(
        physicians=tuple(physicians_from_resources(resources, namespace)),
        clinics=clinics_from_resources(resources),
    )
