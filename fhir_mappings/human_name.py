"""Display text for a person's names: https://hl7.org/fhir/R4/datatypes.html#HumanName."""

from collections.abc import Mapping
from typing import Any

from fhir_mappings.element import mappings_from_element, string_from_element, strings_from_element

# HumanName.use in order of preference: https://hl7.org/fhir/R4/valueset-name-use.html.
_PREFERRED_USES = ("official", "usual")


def human_name_from_names(names: Any) -> Mapping[str, Any] | None:
    """The official name, else the usual one, else the first (Patient.name is 0..*)."""
    candidates = mappings_from_element(names)
    for use in _PREFERRED_USES:
        for name in candidates:
            if name.get("use") == use:
                return name
    return candidates[0] if candidates else None


def text_from_human_names(names: Any, *, with_titles: bool = False) -> str | None:
    """HumanName.text or the given and family parts; with_titles renders "Dr. Ana Ruiz, MD"."""
    name = human_name_from_names(names)
    if name is None:
        return None
    text = string_from_element(name.get("text"))
    parts = strings_from_element(name.get("given"))
    family = string_from_element(name.get("family"))
    if family:
        parts.append(family)
    if not parts:
        return text
    if not with_titles:
        return text or " ".join(parts)
    rendered = " ".join([*strings_from_element(name.get("prefix")), *parts])
    return ", ".join([rendered, *strings_from_element(name.get("suffix"))])
