"""Searchset pages and batches: https://hl7.org/fhir/R4/bundle.html."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError

_STATUS = re.compile(r"\s*([0-9]{3})\b")  # a prefix ("201 Created"); ASCII digits only


@dataclass(frozen=True)
class BatchEntryResponse:
    """One entry of a batch-response: https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.response."""

    status: int  # the HTTP status code from response.status ("200 OK" → 200)
    resource: dict[str, Any] | None = None  # the resource read, when status < 400
    outcome: dict[str, Any] | None = None  # the OperationOutcome, if the server sent one
    location: str | None = None  # response.location of a create: "Type/id/_history/vid"


def resources_from_bundle(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entry[].resource of a Bundle, skipping entries without one (https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.resource)."""
    resources = (mapping_from_element(entry.get("resource")) for entry in _entries(bundle))
    return [dict(resource) for resource in resources if resource]


def next_link_from_bundle(bundle: Mapping[str, Any]) -> str | None:
    """The link with relation "next", for paging (https://hl7.org/fhir/R4/http.html#paging)."""
    for link in mappings_from_element(bundle.get("link")):
        if link.get("relation") == "next":
            return string_from_element(link.get("url"))
    return None


def batch_from_urls(urls: Sequence[str]) -> dict[str, Any]:
    """A batch of GETs with relative urls (https://hl7.org/fhir/R4/http.html#transaction)."""
    return {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": url}} for url in urls],
    }


def responses_from_batch_response(bundle: Mapping[str, Any]) -> list[BatchEntryResponse]:
    """One BatchEntryResponse per entry, in request order (https://hl7.org/fhir/R4/http.html#transaction-response)."""
    return [_response_from_entry(entry) for entry in _entries(bundle)]


def _entries(bundle: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return mappings_from_element(bundle.get("entry"))


def _response_from_entry(entry: Mapping[str, Any]) -> BatchEntryResponse:
    response = mapping_from_element(entry.get("response"))
    match = _STATUS.match(string_from_element(response.get("status")) or "")
    if match is None:
        raise MappingError("a batch-response entry has no HTTP status in response.status")
    status = int(match[1])
    resource = dict(mapping_from_element(entry.get("resource"))) or None
    outcome = dict(mapping_from_element(response.get("outcome"))) or None
    # R4 allows the error's OperationOutcome either in response.outcome or as entry.resource.
    if resource is not None and resource.get("resourceType") == "OperationOutcome":
        outcome = outcome or resource
        resource = None
    if status >= 400:
        resource = None
    location = string_from_element(response.get("location"))
    return BatchEntryResponse(status=status, resource=resource, outcome=outcome, location=location)


Create = tuple[str, Mapping[str, Any], str | None]  # fullUrl, resource, If-None-Exist query or None


def transaction_from_creates(creates: Sequence[Create]) -> dict[str, Any]:
    """A transaction of POSTs, each (fullUrl urn:uuid, resource, If-None-Exist query or None).

    References between the entries use the urn:uuid fullUrls; the server resolves them
    (https://hl7.org/fhir/R4/bundle.html#references, https://hl7.org/fhir/R4/http.html#trules).
    """
    entries = []
    for full_url, resource, if_none_exist in creates:
        request = {"method": "POST", "url": str(resource["resourceType"])}
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        entries.append({"fullUrl": full_url, "resource": dict(resource), "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
