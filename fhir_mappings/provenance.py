"""The Provenance of every write the app makes (docs/fhir-mapping.md §7).

https://hl7.org/fhir/R4/provenance.html, aligned with US Core Provenance: agent ``author`` =
the ATP and agent ``composer`` = the app (a Device), each ``onBehalfOf`` the ATP's
organization (us-core provenance-1), activity CREATE.
"""

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.provenance import Provenance

from fhir_mappings.codes import (
    AUTHOR,
    COMPOSER,
    CREATE,
    DEVICE_IDENTIFIER_ID,
    TRANSMITTER,
    UPDATE,
    identifier_system,
)
from fhir_mappings.domain import Clinic, Requester
from fhir_mappings.errors import MappingError

APP_DEVICE_ID = "second-opinion"
APP_DEVICE_DISPLAY = "Second Opinion (SMART on FHIR app)"


def provenance_from_write(target: str, requester: Requester, recorded: str, ns: str) -> dict[str, Any]:
    """A CREATE Provenance for ``target`` (a reference or urn:uuid), validated with the R4B model."""
    on_behalf_of = _on_behalf_of(requester)
    author = {"reference": requester.reference}
    if requester.display:
        author["display"] = requester.display
    device = _device(ns)
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
    return _validated(resource)


def _on_behalf_of(requester: Requester) -> dict[str, Any]:
    """onBehalfOf = the ATP's Organization, which US Core provenance-1 requires for both agents."""
    organization = requester.organization
    if organization is None:
        return {}
    return {"onBehalfOf": {"reference": organization.reference, "display": organization.name}}


def provenance_from_status_change(
    target: str, requester: Requester, recorded: str, ns: str
) -> dict[str, Any]:
    """An UPDATE Provenance for the ATP's ServiceRequest whose status the app changed on their behalf."""
    resource = provenance_from_write(target, requester, recorded, ns)
    resource["activity"] = {"coding": [UPDATE.coding()]}
    return _validated(resource)


def provenance_from_filing(
    target: str,
    physician: Mapping[str, str],
    clinic: Clinic | None,
    requester: Requester,
    recorded: str,
    ns: str,
) -> dict[str, Any]:
    """A CREATE Provenance for the filed opinion: its author is the second-opinion physician (on behalf
    of their clinic), the app only transmits it (US Core transmitter) on behalf of the ATP's organization."""
    author: dict[str, Any] = {"type": {"coding": [AUTHOR.coding()]}, "who": dict(physician)}
    if clinic is not None:
        author["onBehalfOf"] = {"reference": clinic.reference, "display": clinic.name}
    device = {"type": {"coding": [TRANSMITTER.coding()]}, "who": _device(ns), **_on_behalf_of(requester)}
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": recorded,
        "activity": {"coding": [CREATE.coding()]},
        "agent": [author, device],
    }
    return _validated(resource)


def _device(ns: str) -> dict[str, Any]:
    """The app as an agent: a Device named by our identifier (https://hl7.org/fhir/R4/references.html#logical)."""
    return {
        "type": "Device",
        "identifier": {"system": identifier_system(ns, DEVICE_IDENTIFIER_ID), "value": APP_DEVICE_ID},
        "display": APP_DEVICE_DISPLAY,
    }


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    try:
        Provenance.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the Provenance is not valid FHIR R4: {error}") from error
    return resource
