"""Write the referral's ServiceRequest and say what is true afterwards: sent, not sent, or not known yet.

In one transaction with its Provenance where the EHR takes transactions and grants
Provenance create; one by one otherwise (Epic, for one, takes no transactions).

A create is only "sent" when what the EHR hands back carries our identifier
(https://hl7.org/fhir/R4/resource-definitions.html#Resource.id is the EHR's;
the identifier is ours). When the EHR did not answer, the referral is looked up
by that identifier before anything is said: a timed-out create may still have
been stored (https://hl7.org/fhir/R4/http.html#ccreate makes a retry safe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fhir_mappings.bundle import resources_from_bundle
from fhir_mappings.domain import Referral
from fhir_mappings.errors import MappingError
from fhir_mappings.service_request import identifier_search_from_referral_id, if_none_exist_from_referral
from smart_app.chart.fhir_client import Created, FhirClient, TransactionUnsupported
from smart_app.errors import EhrError, EhrOutcomeUnknown
from smart_app.referrals.ehr_write import (
    provenance_for_write,
    referral_transaction,
    service_request_id_from_entries,
)

logger = logging.getLogger(__name__)

State = Literal["sent", "not-sent", "unknown"]


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one write, in words the ATP can act on."""

    state: State
    service_request_id: str | None = None
    resource: dict[str, Any] | None = None
    error: EhrError | None = None

    @property
    def message(self) -> str:
        """The sentence the compose page shows when the referral is not (known to be) sent."""
        if self.state == "unknown":
            return (
                "The EHR did not answer in time, and it does not show the referral yet, so whether it "
                "was stored is not known yet. Press “Send referral” again to check: it is never "
                "stored twice. Your answers are kept below."
            )
        reason = self.error.message if self.error else "The EHR's answer was not this referral."
        hint = f" {self.error.hint}" if self.error and self.error.hint else ""
        return f"{reason} Nothing was sent; your answers are kept below.{hint}"


def write_referral(
    client: FhirClient,
    referral: Referral,
    service_request: Mapping[str, Any],
    namespace: str,
    *,
    with_provenance: bool = True,
) -> SendOutcome:
    """Write the ServiceRequest (and its Provenance); verify that the EHR holds ours.

    ``service_request`` is the referral's, as ``service_request_from_referral`` built and validated
    it: the caller builds it once and reuses it for the clinic's Bundle. One transaction where the
    server takes them and the grant allows the Provenance; else a conditional create of the
    ServiceRequest, then its Provenance as a create of its own (a Provenance the EHR refuses does not
    unsend the referral: it is logged).
    """
    if with_provenance and not client.no_transaction:
        bundle = referral_transaction(referral, service_request, namespace)

        def in_one_transaction() -> tuple[str, dict[str, Any] | None]:
            entries = client.transaction(bundle)
            return service_request_id_from_entries(entries), entries[0].resource

        try:
            return _attempt(client, referral, namespace, service_request, in_one_transaction)
        except TransactionUnsupported:
            logger.info("referral.no_transaction id=%s", referral.id)
    return _write_one_by_one(client, referral, service_request, namespace, with_provenance)


def _write_one_by_one(
    client: FhirClient,
    referral: Referral,
    resource: Mapping[str, Any],
    namespace: str,
    with_provenance: bool,
) -> SendOutcome:
    """A conditional create of the ServiceRequest, then (if allowed) its Provenance."""
    created: list[Created] = []

    def conditional_create() -> tuple[str, dict[str, Any] | None]:
        created.append(client.create(resource, if_none_exist_from_referral(referral, namespace)))
        return created[0].resource_id, created[0].resource

    outcome = _attempt(client, referral, namespace, resource, conditional_create)
    if outcome.state == "sent" and outcome.service_request_id and with_provenance and created[0].created:
        target = f"ServiceRequest/{outcome.service_request_id}"
        try:
            client.create(provenance_for_write(referral, namespace, target, str(resource["authoredOn"])))
        except (EhrError, MappingError) as error:
            logger.warning("referral.provenance_unwritten id=%s error=%s", referral.id, type(error).__name__)
    return outcome


def _attempt(
    client: FhirClient,
    referral: Referral,
    namespace: str,
    resource: Mapping[str, Any],
    write: Callable[[], tuple[str, dict[str, Any] | None]],
) -> SendOutcome:
    """Run one write (it gives the stored id and what came back) and say what is true afterwards.

    TransactionUnsupported is left to the caller: nothing was written, another way may work.
    """
    identifier = identifier_search_from_referral_id(referral.id, namespace)
    try:
        resource_id, returned = write()
    except TransactionUnsupported:
        raise
    except EhrOutcomeUnknown as error:
        logger.info("referral.unanswered id=%s error=%s", referral.id, type(error).__name__)
        return _look_up(client, resource, identifier, if_absent="unknown", error=error)
    except MappingError:  # an answer that cannot be read: find out what was stored
        logger.warning("referral.unreadable id=%s", referral.id)
        return _look_up(client, resource, identifier, if_absent="not-sent", error=None)
    except EhrError as error:
        return SendOutcome("not-sent", error=error)
    return _verified(client, referral, resource, identifier, resource_id, returned)


def _verified(
    client: FhirClient,
    referral: Referral,
    resource: Mapping[str, Any],
    identifier: str,
    resource_id: str,
    returned: dict[str, Any] | None,
) -> SendOutcome:
    """Sent only if what the EHR holds under that id carries our identifier."""
    returned = returned or _read_or_none(client, resource_id)
    if returned is not None and _is_ours(returned, identifier):
        return SendOutcome("sent", resource_id, returned)
    logger.warning("referral.mismatch id=%s", referral.id)
    return _look_up(client, resource, identifier, if_absent="not-sent", error=None)


def _look_up(
    client: FhirClient,
    resource: Mapping[str, Any],
    identifier: str,
    if_absent: State,
    error: EhrError | None,
) -> SendOutcome:
    """Search the EHR for our identifier (inside the patient's compartment, for patient/ scopes)."""
    patient = str((resource.get("subject") or {}).get("reference", "")).removeprefix("Patient/")
    try:
        bundle = client.search("ServiceRequest", {"identifier": identifier, "patient": patient})
        found = [r for r in resources_from_bundle(bundle) if _is_ours(r, identifier)]
    except (EhrError, MappingError):
        return SendOutcome("unknown", error=error)
    if found and isinstance(found[0].get("id"), str):
        return SendOutcome("sent", str(found[0]["id"]), found[0])
    return SendOutcome(if_absent, error=error)


def _read_or_none(client: FhirClient, resource_id: str) -> dict[str, Any] | None:
    try:
        return client.read("ServiceRequest", resource_id)
    except EhrError:
        return None


def _is_ours(resource: Mapping[str, Any], identifier: str) -> bool:
    """A ServiceRequest with an id and our ``system|value`` among its identifiers."""
    system, _, value = identifier.partition("|")
    identifiers = resource.get("identifier")
    return (
        resource.get("resourceType") == "ServiceRequest"
        and isinstance(resource.get("id"), str)
        and isinstance(identifiers, list)
        and any(
            isinstance(i, dict) and i.get("system") == system and i.get("value") == value
            for i in identifiers
        )
    )
