"""Reading concepts sent by EHRs: https://hl7.org/fhir/R4/datatypes.html#CodeableConcept."""

from collections.abc import Collection
from typing import Any

from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element


def text_from_codeable_concept(concept: Any) -> str | None:
    """CodeableConcept.text, else the first coding's display, else its code."""
    element = mapping_from_element(concept)
    codings = mappings_from_element(element.get("coding"))
    candidates = [element.get("text")]
    candidates += [coding.get("display") for coding in codings]
    candidates += [coding.get("code") for coding in codings]
    for candidate in candidates:
        text = string_from_element(candidate)
        if text:
            return text
    return None


def codes_from_codeable_concept(concept: Any) -> list[tuple[str | None, str]]:
    """The (system, code) pairs of CodeableConcept.coding, skipping codings without a code."""
    pairs: list[tuple[str | None, str]] = []
    for coding in mappings_from_element(mapping_from_element(concept).get("coding")):
        code = string_from_element(coding.get("code"))
        if code:
            pairs.append((string_from_element(coding.get("system")), code))
    return pairs


def code_from_codeable_concept(concept: Any) -> str | None:
    """The first coding's code, as for Condition.clinicalStatus (https://hl7.org/fhir/R4/condition-definitions.html#Condition.clinicalStatus)."""
    pairs = codes_from_codeable_concept(concept)
    return pairs[0][1] if pairs else None


def has_code(concept: Any, codes: Collection[tuple[str, str]]) -> bool:
    """Whether any coding's (system, code) pair is one of codes."""
    return any((system, code) in codes for system, code in codes_from_codeable_concept(concept))
