"""A candidate reason for referral: https://hl7.org/fhir/R4/condition.html."""

from collections.abc import Mapping
from typing import Any

from fhir_mappings.codeable_concept import code_from_codeable_concept, text_from_codeable_concept
from fhir_mappings.domain import ConditionSummary
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.reference import reference_from_resource

UNNAMED_CONDITION = "Unnamed condition"


def condition_summary_from_condition(resource: Mapping[str, Any]) -> ConditionSummary:
    """What the reason picker shows; a Condition without code still renders."""
    body_sites = mappings_from_element(resource.get("bodySite"))
    return ConditionSummary(
        reference=reference_from_resource(resource),
        text=text_from_codeable_concept(resource.get("code")) or UNNAMED_CONDITION,
        clinical_status=code_from_codeable_concept(resource.get("clinicalStatus")),
        onset=onset_from_condition(resource),
        body_site=text_from_codeable_concept(body_sites[0]) if body_sites else None,
    )


def onset_from_condition(resource: Mapping[str, Any]) -> str | None:
    """Condition.onset[x] as sent: dateTime, Period.start or string (https://hl7.org/fhir/R4/condition-definitions.html#Condition.onset_x_)."""
    return (
        string_from_element(resource.get("onsetDateTime"))
        or string_from_element(mapping_from_element(resource.get("onsetPeriod")).get("start"))
        or string_from_element(resource.get("onsetString"))
    )
