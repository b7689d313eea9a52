"""Literal references, normalised to relative "Type/id": https://hl7.org/fhir/R4/references.html#literal."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fhir_mappings.element import mapping_from_element, string_from_element
from fhir_mappings.errors import MappingError

# https://hl7.org/fhir/R4/references.html#regex: [base/]Type/id[/_history/vid]
_REFERENCE = re.compile(
    r"(?:https?://[^?#]+/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)  # fullmatch: "$" would accept a final newline


def reference_from_url(url: str) -> str:
    """The relative "Type/id" of an absolute or relative literal reference, or MappingError."""
    match = _REFERENCE.fullmatch(url.strip())
    if match is None:
        raise MappingError(f"not a literal FHIR reference: {url[:100]!r}")
    return f"{match['type']}/{match['id']}"


def reference_from_reference(element: Any) -> str | None:
    """The relative "Type/id" of a Reference, if it has a followable one (https://hl7.org/fhir/R4/references.html#Reference)."""
    url = string_from_element(mapping_from_element(element).get("reference"))
    if url is None:
        return None
    try:
        return reference_from_url(url)
    except MappingError:
        return None  # contained ("#x"), urn:uuid or logical references cannot be followed


def reference_from_resource(resource: Mapping[str, Any]) -> str:
    """The relative "Type/id" of a resource read from a server (https://hl7.org/fhir/R4/resource.html#id)."""
    resource_type = string_from_element(resource.get("resourceType"))
    resource_id = string_from_element(resource.get("id"))
    if resource_type is None or resource_id is None:
        raise MappingError("a resource without resourceType and id cannot be referenced")
    return reference_from_url(f"{resource_type}/{resource_id}")


def resources_by_reference(resources: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The resources keyed by their relative "Type/id"; those without a type and id are left out."""
    found: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        try:
            found[reference_from_resource(resource)] = resource
        except MappingError:
            continue
    return found
