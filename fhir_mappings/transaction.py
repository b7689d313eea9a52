"""The referral as one ``transaction`` Bundle for the receiving clinic, safe to send again.

https://hl7.org/fhir/R4/http.html#transaction: every entry is a conditional create
(``request.ifNoneExist``, https://hl7.org/fhir/R4/http.html#ccreate) keyed on our identifiers,
so a repeated delivery finds what the first one wrote. Copies of EHR resources carry
``{ns}/sid/ehr-resource`` = their absolute URL at the EHR; the ServiceRequest and the Task
carry the referral id. References between entries use ``urn:uuid:`` fullUrls that the caller
derives (``entry_url(name)``), so that the same referral always yields the same Bundle.
A record review carries the records themselves (fhir_mappings/shared_record.py), which the
ServiceRequest's ``supportingInfo`` names.
"""

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.patient import Patient

from fhir_mappings.bundle import Create, transaction_from_creates
from fhir_mappings.codes import (
    EHR_RESOURCE_IDENTIFIER_ID,
    EHR_VERSION_IDENTIFIER_ID,
    INJURED_PARTY,
    REFERRAL_IDENTIFIER_ID,
    WC_CLAIM_IDENTIFIER_ID,
    WC_CLAIM_IDENTIFIER_TEXT,
    WORKERS_COMP_POLICY,
    WORKERS_COMP_SOPT,
    identifier_system,
)
from fhir_mappings.domain import ConditionSummary, CoverageSummary, RecordSummary, Referral
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError
from fhir_mappings.identifier_search import if_none_exist_from_identifier
from fhir_mappings.reference import reference_from_resource
from fhir_mappings.service_request import if_none_exist_from_referral_id, service_request_from_referral
from fhir_mappings.shared_record import shared_record_from_resource
from fhir_mappings.task import task_from_referral

_GENDERS = frozenset({"male", "female", "other", "unknown"})


def transaction_from_referral(
    referral: Referral,
    ns: str,
    iss: str,
    entry_url: Callable[[str], str],
    records: Sequence[Mapping[str, Any]] = (),
    service_request: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Patient, reasons, Coverage, shared records, ServiceRequest and Task in one transaction Bundle.

    ``entry_url(name)`` gives the ``urn:uuid:`` fullUrl of an entry, the same for the same name.
    ``records`` are the resources of ``referral.records`` as read at send time, in that order,
    their attachments inlined. ``service_request`` is the referral's ServiceRequest as
    ``service_request_from_referral`` built and validated it (the one written to the EHR), so a
    send builds it once; without it, it is built here. It is copied, never changed.
    """
    patient_url = entry_url(referral.patient.reference)
    request_url = entry_url("ServiceRequest")
    patient = _patient(referral, ns, iss)
    creates: list[Create] = [(patient_url, patient, _by_source(ns, iss, referral.patient.reference))]
    reason_urls: list[tuple[ConditionSummary, str]] = []
    for reason in referral.reasons:
        url = entry_url(reason.reference)
        reason_urls.append((reason, url))
        condition = _condition(reason, ns, iss, patient_url)
        creates.append((url, condition, _by_source(ns, iss, reason.reference)))
    coverage_url = None
    if referral.coverage is not None:
        coverage_url = entry_url(referral.coverage.reference)
        coverage = _coverage(referral.coverage, ns, iss, patient_url)
        creates.append((coverage_url, coverage, _by_source(ns, iss, referral.coverage.reference)))
    shared, supporting = _shared_records(referral, records, ns, iss, patient_url, entry_url)
    creates += shared
    built = service_request if service_request is not None else service_request_from_referral(referral, ns)
    at_clinic = _service_request(built, referral, ns, iss, patient_url, reason_urls, coverage_url)
    if supporting:  # the EHR's own references would not resolve at the clinic
        at_clinic["supportingInfo"] = supporting
    by_referral = if_none_exist_from_referral_id(referral.id, ns)
    creates.append((request_url, at_clinic, by_referral))
    task = task_from_referral(
        referral, ns, focus=request_url, patient=patient_url, authored_on=at_clinic["authoredOn"]
    )
    creates.append((entry_url("Task"), task, by_referral))
    return transaction_from_creates(creates)


def ehr_resource_identifier(ns: str, iss: str, reference: str) -> dict[str, str]:
    """The identifier a copy carries: the source's absolute URL at the EHR."""
    system = identifier_system(ns, EHR_RESOURCE_IDENTIFIER_ID)
    return {"system": system, "value": f"{iss.rstrip('/')}/{reference}"}


def task_id_from_transaction_response(bundle: Mapping[str, Any]) -> str | None:
    """The Task's id at the clinic, from the last entry's ``response.location``.

    https://hl7.org/fhir/R4/http.html#transaction-response
    """
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[-1], Mapping):
        return None
    location = (entries[-1].get("response") or {}).get("location")
    if not isinstance(location, str) or "Task/" not in location:
        return None
    return location.split("Task/", 1)[1].split("/")[0] or None


def _patient(referral: Referral, ns: str, iss: str) -> dict[str, Any]:
    """Minimum necessary: identifier, name, birth date, sex (https://hl7.org/fhir/R4/patient.html)."""
    summary = referral.patient
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [ehr_resource_identifier(ns, iss, summary.reference)],
        "name": [{"text": summary.name}],
    }
    if summary.birth_date:
        resource["birthDate"] = summary.birth_date
    if summary.gender in _GENDERS:
        resource["gender"] = summary.gender
    Patient.model_validate(resource)
    return resource


def _condition(reason: ConditionSummary, ns: str, iss: str, patient_url: str) -> dict[str, Any]:
    """A reason for referral as text: codes stay in the EHR (https://hl7.org/fhir/R4/condition.html)."""
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "identifier": [ehr_resource_identifier(ns, iss, reason.reference)],
        "code": {"text": reason.text},
        "subject": {"reference": patient_url},
    }
    if reason.body_site:
        resource["bodySite"] = [{"text": reason.body_site}]
    if reason.onset:
        resource["onsetString"] = reason.onset  # as sent: a date, dateTime or period start
    Condition.model_validate(resource)
    return resource


def _coverage(coverage: CoverageSummary, ns: str, iss: str, patient_url: str) -> dict[str, Any]:
    """The workers' comp claim (CODES §5): SOPT 95 + WCBPOL, claim number as subscriberId, the date of
    injury as period.start."""
    identifiers: list[dict[str, Any]] = [ehr_resource_identifier(ns, iss, coverage.reference)]
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "identifier": identifiers,
        "status": coverage.status if coverage.status in ("active", "cancelled", "draft") else "active",
        "type": {"coding": [WORKERS_COMP_SOPT.coding(), WORKERS_COMP_POLICY.coding()]},
        "beneficiary": {"reference": patient_url},
        "relationship": {"coding": [INJURED_PARTY.coding()]},
        "payor": [{"display": coverage.insurer or "Workers' compensation insurer"}],
    }
    if coverage.claim_number:
        identifiers.append(
            {
                "type": {"text": WC_CLAIM_IDENTIFIER_TEXT},
                "system": identifier_system(ns, WC_CLAIM_IDENTIFIER_ID),
                "value": coverage.claim_number,
            }
        )
        resource["subscriberId"] = coverage.claim_number
    if coverage.employer:
        resource["policyHolder"] = {"display": coverage.employer}
    if coverage.injury_date:  # the claim is in force from the date of injury (docs/fhir-mapping.md §5)
        resource["period"] = {"start": coverage.injury_date}
    Coverage.model_validate(resource)
    return resource


def _service_request(
    built: Mapping[str, Any],
    referral: Referral,
    ns: str,
    iss: str,
    patient_url: str,
    reasons: list[tuple[ConditionSummary, str]],
    coverage_url: str | None,
) -> dict[str, Any]:
    """A copy of the EHR's ServiceRequest (``built``) with its references pointing inside the Bundle."""
    if _referral_id(built, ns) != referral.id:
        raise MappingError("the ServiceRequest given is not this referral's")
    resource: dict[str, Any] = copy.deepcopy(dict(built))
    resource.pop("replaces", None)  # the EHR's order history; the new physician's clinic needs none of it
    resource["subject"] = {"reference": patient_url, "display": referral.patient.name}
    resource["requester"] = {
        "identifier": ehr_resource_identifier(ns, iss, referral.requester.reference),
        "display": referral.requester.display or "Referring physician",
    }
    if reasons:
        resource["reasonReference"] = [{"reference": url, "display": r.text} for r, url in reasons]
    if coverage_url:
        resource["insurance"] = [{"reference": coverage_url}]
    return resource


def _referral_id(resource: Mapping[str, Any], ns: str) -> str | None:
    """The value of our referral identifier on a ServiceRequest, if it carries one."""
    system = identifier_system(ns, REFERRAL_IDENTIFIER_ID)
    for identifier in mappings_from_element(resource.get("identifier")):
        if identifier.get("system") == system:
            return string_from_element(identifier.get("value"))
    return None


def _shared_records(
    referral: Referral,
    records: Sequence[Mapping[str, Any]],
    ns: str,
    iss: str,
    patient_url: str,
    entry_url: Callable[[str], str],
) -> tuple[list[Create], list[dict[str, str]]]:
    """A conditional create per shared record, and the ServiceRequest's supportingInfo naming them.

    https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.supportingInfo
    """
    return record_creates(referral.records, records, ns, iss, patient_url, entry_url)


def record_creates(
    chosen: Sequence[RecordSummary],
    records: Sequence[Mapping[str, Any]],
    ns: str,
    iss: str,
    patient: str,
    entry_url: Callable[[str], str],
) -> tuple[list[Create], list[dict[str, str]]]:
    """A conditional create per record keyed on its version, and the supportingInfo naming each.

    ``patient`` is the Patient at the clinic (a fullUrl in the Bundle, or ``Patient/<id>``).
    The key is the version of the record the EHR held when it was read
    (``record_version_identifier``), so an amended record arrives as a new copy.
    """
    if len(records) != len(chosen):
        raise MappingError("every shared record needs its resource, read at send time")
    creates: list[Create] = []
    supporting: list[dict[str, str]] = []
    for record, resource in zip(chosen, records, strict=True):
        if reference_from_resource(resource) != record.reference:
            raise MappingError("the records' resources are not the records chosen, in order")
        url = entry_url(record.reference)
        version = record_version_identifier(ns, iss, record.reference, resource)
        source = ehr_resource_identifier(ns, iss, record.reference)
        copy = shared_record_from_resource(resource, source, patient)
        copy["identifier"].insert(1, version)
        creates.append((url, copy, if_none_exist_from_identifier(version["system"], version["value"])))
        supporting.append({"reference": url, "display": record.title})
    return creates, supporting


def record_version_identifier(
    ns: str, iss: str, reference: str, resource: Mapping[str, Any]
) -> dict[str, str]:
    """Which version of the source the copy is: its version-specific URL (``…/_history/<versionId>``,
    https://hl7.org/fhir/R4/http.html#vread), or a SHA-256 of its content when the EHR gives no version."""
    system = identifier_system(ns, EHR_VERSION_IDENTIFIER_ID)
    version = string_from_element(mapping_from_element(resource.get("meta")).get("versionId"))
    source = f"{iss.rstrip('/')}/{reference}"
    if version:
        return {"system": system, "value": f"{source}/_history/{version}"}
    content = {key: value for key, value in resource.items() if key not in ("id", "meta")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {"system": system, "value": f"{source}#sha256={digest}"}


def _by_source(ns: str, iss: str, reference: str) -> str:
    identifier = ehr_resource_identifier(ns, iss, reference)
    return if_none_exist_from_identifier(identifier["system"], identifier["value"])
