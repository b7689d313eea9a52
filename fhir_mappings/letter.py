"""The printable referral letter, built from the ServiceRequest the EHR holds and the chart's claim.

For clinics without a FHIR endpoint: the same content the ServiceRequest carries
(https://hl7.org/fhir/R4/servicerequest.html), laid out as a letter.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mappings.codes import (
    MODALITY_DISPLAY,
    MODALITY_SYSTEM_ID,
    REFERRAL_IDENTIFIER_ID,
    SCOPE_STATEMENT,
)
from fhir_mappings.domain import (
    MODALITIES,
    ConditionSummary,
    CoverageSummary,
    Modality,
    PatientSummary,
    Physician,
    Requester,
)
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.reference import reference_from_reference
from fhir_mappings.service_request import due_by_from_service_request, questions_from_service_request

PERFORMER_SEPARATOR = " — "  # service_request.py writes performer.display as "Physician — Clinic"
_QUESTION_NOTE = re.compile(r"^Question \d+ of \d+: ")  # the notes service_request.py writes


@dataclass(frozen=True)
class Contact:
    """A clinic as the letter and the handout print it."""

    clinic: str | None = None
    address: str | None = None
    phone: str | None = None
    fax: str | None = None


@dataclass(frozen=True)
class Letter:
    """What the referral letter says; None where the ServiceRequest or chart has nothing."""

    referral_id: str | None
    authored: str | None  # the date part of authoredOn, as sent (UTC for a "Z" time: see authored_at)
    patient: str | None
    requester: str | None
    physician: str | None
    clinic: str | None
    modality: Modality | None
    visit_type: str | None
    scope: str
    questions: tuple[str, ...]
    reasons: tuple[str, ...]
    claim: str | None = None
    insurer: str | None = None
    employer: str | None = None
    birth_date: str | None = None
    injury_date: str | None = None
    records: tuple[str, ...] = ()  # the shared records' titles (supportingInfo)
    window: tuple[str, str] | None = None  # occurrencePeriod start and end
    due_by: str | None = None  # "Opinion needed by", a FHIR date
    sender: Contact | None = None  # the referring ATP's clinic: where the opinion goes back
    receiver: Contact | None = None  # the second-opinion physician's clinic: where the visit is
    authored_at: str | None = None  # authoredOn as sent, for the letter's date in the local zone


@dataclass(frozen=True)
class LetterContext:
    """What the chart the launch read adds to the ServiceRequest; each part counts only if it is the
    one the ServiceRequest names (its subject, requester, performer, reasons, insurance)."""

    patient: PatientSummary | None = None
    coverage: CoverageSummary | None = None
    requester: Requester | None = None
    conditions: tuple[ConditionSummary, ...] = ()
    physicians: tuple[Physician, ...] = ()


def letter_from_service_request(
    resource: Mapping[str, Any],
    coverage: CoverageSummary | None = None,
    context: LetterContext | None = None,
) -> Letter:
    """The letter's content from the ServiceRequest the EHR holds and the chart's matching parts."""
    context = context or LetterContext(coverage=coverage)
    physician, clinic = performer_from_service_request(resource)
    claim_source = context.coverage or coverage
    claim = claim_source if claim_source and claim_source.reference in _insurance(resource) else None
    authored = string_from_element(resource.get("authoredOn"))
    due = due_by_from_service_request(resource)
    return Letter(
        referral_id=referral_id_from_service_request(resource),
        authored=authored[:10] if authored else None,
        patient=_display(resource.get("subject")),
        requester=_display(resource.get("requester")),
        physician=physician,
        clinic=clinic,
        modality=modality_from_service_request(resource),
        visit_type=_visit_type(resource),
        scope=_scope(resource),
        questions=questions_from_service_request(resource),
        reasons=_displays(resource.get("reasonReference")),
        claim=claim.claim_number if claim else None,
        insurer=claim.insurer if claim else None,
        employer=claim.employer if claim else None,
        birth_date=_birth_date(resource, context.patient),
        injury_date=(claim.injury_date if claim else None) or _injury_date(resource, context.conditions),
        records=_displays(resource.get("supportingInfo")),
        window=_window(resource),
        due_by=due.isoformat() if due else None,
        sender=_sender(resource, context.requester),
        receiver=_receiver(resource, context.physicians),
        authored_at=authored,
    )


def _birth_date(resource: Mapping[str, Any], patient: PatientSummary | None) -> str | None:
    """The chart's birth date when the chart's patient is the ServiceRequest's subject."""
    subject = reference_from_reference(resource.get("subject"))
    return patient.birth_date if patient and subject == patient.reference else None


def _injury_date(resource: Mapping[str, Any], conditions: tuple[ConditionSummary, ...]) -> str | None:
    """Without a claim date: the earliest onset among the reasons (docs/fhir-mapping.md §5)."""
    reasons = {
        reference
        for reason in mappings_from_element(resource.get("reasonReference"))
        if (reference := reference_from_reference(reason))
    }
    return min((c.onset[:10] for c in conditions if c.reference in reasons and c.onset), default=None)


def _window(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    """occurrencePeriod as two dates (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.occurrence_x_)."""
    period = mapping_from_element(resource.get("occurrencePeriod"))
    start, end = string_from_element(period.get("start")), string_from_element(period.get("end"))
    return (start[:10], end[:10]) if start and end else None


def _sender(resource: Mapping[str, Any], requester: Requester | None) -> Contact | None:
    """The ATP's clinic and how to reach it, when the chart's ATP is the ServiceRequest's requester."""
    if requester is None or reference_from_reference(resource.get("requester")) != requester.reference:
        return None
    clinic = requester.organization
    return Contact(
        clinic=clinic.name if clinic else None,
        address=clinic.address if clinic else None,
        phone=requester.phone,
        fax=requester.fax,
    )


def _receiver(resource: Mapping[str, Any], physicians: tuple[Physician, ...]) -> Contact | None:
    """The chosen physician's clinic (PractitionerRole telecom first), from the directory the chart read."""
    performers = mappings_from_element(resource.get("performer"))
    wanted = reference_from_reference(performers[0]) if performers else None
    physician = next((p for p in physicians if p.role_reference == wanted), None)
    if physician is None:
        return None
    clinic = physician.clinic
    return Contact(
        clinic=clinic.name if clinic else None,
        address=clinic.address if clinic else None,
        phone=physician.phone or (clinic.phone if clinic else None),
        fax=physician.fax or (clinic.fax if clinic else None),
    )


def _displays(references: Any) -> tuple[str, ...]:
    """The displays of a list of References, in order."""
    items = mappings_from_element(references)
    return tuple(text for item in items if (text := string_from_element(item.get("display"))))


def performer_from_service_request(resource: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(physician, clinic) from performer[0].display "Physician — Clinic" (ServiceRequest.performer)."""
    performers = mappings_from_element(resource.get("performer"))
    display = _display(performers[0]) if performers else None
    if display is None:
        return None, None
    physician, _, clinic = display.partition(PERFORMER_SEPARATOR)
    return physician, clinic or None


def modality_from_service_request(resource: Mapping[str, Any]) -> Modality | None:
    """The visit type code from orderDetail, our referral-modality CodeSystem (ServiceRequest.orderDetail)."""
    suffix = f"/CodeSystem/{MODALITY_SYSTEM_ID}"
    for detail in mappings_from_element(resource.get("orderDetail")):
        for coding in mappings_from_element(detail.get("coding")):
            system = string_from_element(coding.get("system")) or ""
            code = string_from_element(coding.get("code"))
            if system.endswith(suffix):
                return next((m for m in MODALITIES if m == code), None)
    return None


def referral_id_from_service_request(resource: Mapping[str, Any]) -> str | None:
    """Our referral number: the identifier in {ns}/sid/referral (ServiceRequest.identifier)."""
    suffix = f"/sid/{REFERRAL_IDENTIFIER_ID}"
    for identifier in mappings_from_element(resource.get("identifier")):
        if (string_from_element(identifier.get("system")) or "").endswith(suffix):
            return string_from_element(identifier.get("value"))
    return None


def _visit_type(resource: Mapping[str, Any]) -> str | None:
    """Our display for the modality, else nothing."""
    modality = modality_from_service_request(resource)
    return MODALITY_DISPLAY[modality] if modality else None


def _scope(resource: Mapping[str, Any]) -> str:
    """The first note that is not a question (the scope as sent), else our scope statement."""
    for note in mappings_from_element(resource.get("note")):
        text = string_from_element(note.get("text"))
        if text and not _QUESTION_NOTE.match(text):
            return text
    return SCOPE_STATEMENT


def _insurance(resource: Mapping[str, Any]) -> set[str]:
    """The Coverage references in ServiceRequest.insurance."""
    return {
        reference
        for item in mappings_from_element(resource.get("insurance"))
        if (reference := string_from_element(item.get("reference")))
    }


def _display(reference: Any) -> str | None:
    """A Reference's display."""
    return string_from_element(mapping_from_element(reference).get("display"))
