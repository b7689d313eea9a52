"""The workers' compensation claim: https://hl7.org/fhir/R4/coverage.html (docs/fhir-mapping.md §5)."""

from collections.abc import Mapping, Sequence
from typing import Any

from fhir_mappings.codeable_concept import has_code, text_from_codeable_concept
from fhir_mappings.codes import WC_CLAIM_IDENTIFIER_ID, WORKERS_COMP_CODES
from fhir_mappings.domain import CoverageSummary
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.reference import reference_from_resource

_CLAIM_SYSTEM_SUFFIX = f"/sid/{WC_CLAIM_IDENTIFIER_ID}"


def coverage_summary_from_coverage(resource: Mapping[str, Any]) -> CoverageSummary:
    """Whether it is workers' comp (Coverage.type), the claim number, insurer and employer."""
    payors = mappings_from_element(resource.get("payor"))
    return CoverageSummary(
        reference=reference_from_resource(resource),
        is_workers_comp=has_code(resource.get("type"), WORKERS_COMP_CODES),
        claim_number=claim_number_from_coverage(resource),
        insurer=string_from_element(payors[0].get("display")) if payors else None,
        employer=string_from_element(
            mapping_from_element(resource.get("policyHolder")).get("display")
        ),
        status=string_from_element(resource.get("status")),
        injury_date=injury_date_from_coverage(resource),
    )


def injury_date_from_coverage(resource: Mapping[str, Any]) -> str | None:
    """The date part of period.start: a workers' comp Coverage is read per claim, in force from the
    date of injury (docs/fhir-mapping.md §5; R4 Coverage has no injury date of its own)."""
    start = string_from_element(mapping_from_element(resource.get("period")).get("start"))
    return start[:10] if start else None


def claim_number_from_coverage(resource: Mapping[str, Any]) -> str | None:
    """The identifier typed "claim" or in {ns}/sid/wc-claim, else subscriberId (docs/fhir-mapping.md §5)."""
    for identifier in mappings_from_element(resource.get("identifier")):
        value = string_from_element(identifier.get("value"))
        type_text = text_from_codeable_concept(identifier.get("type")) or ""
        system = string_from_element(identifier.get("system")) or ""
        if value and ("claim" in type_text.lower() or system.endswith(_CLAIM_SYSTEM_SUFFIX)):
            return value
    return string_from_element(resource.get("subscriberId"))


def workers_comp_coverage_from_coverages(
    coverages: Sequence[CoverageSummary],
) -> CoverageSummary | None:
    """The first active workers' comp Coverage, else the first workers' comp one, else None."""
    workers_comp = [coverage for coverage in coverages if coverage.is_workers_comp]
    active = [coverage for coverage in workers_comp if coverage.status == "active"]
    return next(iter(active or workers_comp), None)
