"""The Provenance of every write the app makes (docs/fhir-mapping.md §7).

https://hl7.org/fhir/R4/provenance.html, aligned with US Core Provenance: agent ``author`` =
the ATP and agent ``composer`` = the app (a Device), each ``onBehalfOf`` the ATP's
organization (us-core provenance-1), activity CREATE.
"""

from typing import Any

from fhir.resources.R4B.provenance import Provenance

from fhir_mappings.codes import AUTHOR, COMPOSER, CREATE, DEVICE_IDENTIFIER_ID, identifier_system
from fhir_mappings.domain import Requester
from fhir_mappings.errors import MappingError

APP_DEVICE_ID = "second-opinion"
APP_DEVICE_DISPLAY = "Second Opinion (SMART on FHIR app)"


def provenance_from_write(target: str, requester: Requester, recorded: str, ns: str) -> dict[str, Any]:
    """A CREATE Provenance for ``target`` (a reference or urn:uuid), validated with the R4B model."""
    on_behalf_of = _on_behalf_of(requester)
    author = {"reference": requester.reference}
    if requester.display:
        author["display"] = requester.display
    device = {
        "type": "Device",
        "identifier": {"system": identifier_system(ns, DEVICE_IDENTIFIER_ID), "value": APP_DEVICE_ID},
        "display": APP_DEVICE_DISPLAY,
    }
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": recorded,
        "activity": {"coding": [CREATE.coding()]},
        "agent": [
            {"type": {"coding": [AUTHOR.coding()]}, "who": author, **on_behalf_of},
            {"type": {"coding": [COMPOSER.coding()]}, "who": device, **on_behalf_of},
        ],
    }
    try:
        Provenance.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the Provenance is not valid FHIR R4: {error}") from error
    return resource


def _on_behalf_of(requester: Requester) -> dict[str, Any]:
    """onBehalfOf = the ATP's Organization, which US Core provenance-1 requires for both agents."""
    organization = requester.organization
    if organization is None:
        return {}
    return {"onBehalfOf": {"reference": organization.reference, "display": organization.name}}
