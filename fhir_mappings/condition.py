"""A candidate reason for referral: https://hl7.org/fhir/R4/condition.html."""

from collections.abc import Mapping, Sequence
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


def injury_date_from_chart(
    conditions: Sequence[ConditionSummary], claim_injury_date: str | None
) -> str | None:
    """The claim's date of injury, else the earliest onset (docs/fhir-mapping.md §5)."""
    return claim_injury_date or min((c.onset[:10] for c in conditions if c.onset), default=None)


def conditions_by_injury(
    conditions: Sequence[ConditionSummary], injury_date: str | None
) -> tuple[tuple[ConditionSummary, ...], tuple[ConditionSummary, ...]]:
    """(tied to the work injury: onset on or after its date, the others), each in the chart's order.

    Without a date of injury nothing is told apart: every condition is in the second group.
    """
    if injury_date is None:
        return (), tuple(conditions)
    is_tied = [bool(c.onset and c.onset[:10] >= injury_date) for c in conditions]
    tied = tuple(c for c, flag in zip(conditions, is_tied, strict=True) if flag)
    return tied, tuple(c for c, flag in zip(conditions, is_tied, strict=True) if not flag)


def condition_matches(condition: ConditionSummary, text: str) -> bool:
    """Whether every word of ``text`` is in the condition's name, body site or onset (any case)."""
    haystack = " ".join(filter(None, (condition.text, condition.body_site, condition.onset))).casefold()
    return all(word in haystack for word in text.casefold().split())
