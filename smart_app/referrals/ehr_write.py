"""Write a referral to the EHR: the ServiceRequest and its Provenance in one transaction.

The ServiceRequest is a conditional create on our identifier, so a retry finds the first
one (https://hl7.org/fhir/R4/http.html#ccreate); the Provenance targets it through its
urn:uuid fullUrl, which the EHR resolves (https://hl7.org/fhir/R4/bundle.html#references).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fhir_mappings.bundle import BatchEntryResponse, transaction_from_creates
from fhir_mappings.domain import Referral
from fhir_mappings.errors import MappingError
from fhir_mappings.provenance import provenance_from_write
from fhir_mappings.reference import reference_from_url
from fhir_mappings.service_request import if_none_exist_from_referral
from smart_app.errors import EhrError


def referral_transaction(referral: Referral, service_request: Mapping[str, Any], ns: str) -> dict[str, Any]:
    """The transaction Bundle: the ServiceRequest as built (conditional on our identifier), then its
    Provenance."""
    full_url = f"urn:uuid:{uuid.uuid4()}"
    provenance = provenance_for_write(referral, ns, full_url, str(service_request["authoredOn"]))
    return transaction_from_creates(
        [
            (full_url, service_request, if_none_exist_from_referral(referral, ns)),
            (f"urn:uuid:{uuid.uuid4()}", provenance, None),
        ]
    )


def provenance_for_write(referral: Referral, ns: str, target: str, recorded: str) -> dict[str, Any]:
    """The Provenance of the ServiceRequest at ``target`` (a urn:uuid fullUrl or ``ServiceRequest/id``)."""
    return provenance_from_write(target, referral.requester, recorded, ns)


def service_request_id_from_entries(entries: list[BatchEntryResponse]) -> str:
    """The ServiceRequest's id from the transaction-response (one entry per request, in order)."""
    if len(entries) != 2 or entries[0].status >= 400:
        raise EhrError("The EHR's answer did not match the referral it was sent.")
    if entries[0].resource and isinstance(entries[0].resource.get("id"), str):
        return str(entries[0].resource["id"])
    try:
        return reference_from_url(entries[0].location or "").split("/", 1)[1]
    except MappingError as error:
        raise EhrError("The EHR did not say where it stored the referral.") from error
