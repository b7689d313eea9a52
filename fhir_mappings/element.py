"""Liberal readers of FHIR JSON elements: https://hl7.org/fhir/R4/element.html.

EHRs send what they send: a missing element, a wrong JSON type or an empty string
reads as "absent" here, never as a KeyError or TypeError.
"""

from collections.abc import Mapping
from typing import Any

from fhir_mappings.text import has_visible_character, text_without_forbidden_characters


def mapping_from_element(value: Any) -> Mapping[str, Any]:
    """A complex element (https://hl7.org/fhir/R4/datatypes.html#complex), or an empty one."""
    return value if isinstance(value, Mapping) else {}


def mappings_from_element(value: Any) -> list[Mapping[str, Any]]:
    """The complex items of a repeating element (max cardinality *), skipping anything else."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def string_from_element(value: Any) -> str | None:
    """A primitive string, stripped of characters FHIR forbids; blank or invisible reads as absent."""
    if not isinstance(value, str):
        return None
    if value.isascii() and value.isprintable():  # the common case: nothing to remove, visible unless blank
        text = value.strip()
        return text or None
    text = text_without_forbidden_characters(value).strip()
    return text if has_visible_character(text) else None


def strings_from_element(value: Any) -> list[str]:
    """The non-blank strings of a repeating primitive such as HumanName.given."""
    items = value if isinstance(value, list) else [value]
    return [text for text in (string_from_element(item) for item in items) if text]


def pruned_element(value: Any) -> Any:
    """The JSON without None, "", [] or {} (ele-1) and without characters FHIR strings forbid.

    https://hl7.org/fhir/R4/element.html#invs: every element SHALL have a value or children.
    """
    if isinstance(value, str):
        return text_without_forbidden_characters(value)
    if isinstance(value, dict):
        pruned = {key: pruned_element(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        items = [pruned_element(item) for item in value]
        return [item for item in items if item not in (None, "", [], {})]
    return value
