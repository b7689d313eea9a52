"""The printable referral letter, built from the transaction Bundle the referral was delivered as.

For clinics without a FHIR endpoint: the same content the ServiceRequest carries
(https://hl7.org/fhir/R4/servicerequest.html), laid out as a letter, with the claim, the birth date
and the reasons' onsets from the Bundle's other entries, and the two clinics' contacts the outbox
kept when the referral was sent (so no page reads the EHR or the launch's chart).
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
from fhir_mappings.condition import onset_from_condition
from fhir_mappings.coverage import injury_date_from_coverage
from fhir_mappings.domain import MODALITIES, CoverageSummary, Modality, Physician, Requester
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.referral_number import referral_number_from_id
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
    """What the referral letter says; None where the referral has nothing."""

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

    @property
    def number(self) -> str | None:
        """The short referral number read out on the phone (fhir_mappings/referral_number.py)."""
        try:
            return referral_number_from_id(self.referral_id) if self.referral_id else None
        except ValueError:
            return None


@dataclass(frozen=True)
class LetterContext:
    """What the rest of the referral adds to its ServiceRequest: the Bundle's other entries and the
    contacts the outbox kept. The claim counts only if it is the one the ServiceRequest names."""

    coverage: CoverageSummary | None = None
    birth_date: str | None = None  # the subject's
    onsets: tuple[str, ...] = ()  # the reasons' onsets: the date of injury when the claim has none
    sender: Contact | None = None  # the referring ATP's clinic
    receiver: Contact | None = None  # the second-opinion physician's clinic


def letter_from_service_request(
    resource: Mapping[str, Any],
    coverage: CoverageSummary | None = None,
    context: LetterContext | None = None,
) -> Letter:
    """The letter's content from the ServiceRequest and what the rest of the referral adds."""
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
        birth_date=context.birth_date,
        injury_date=_injury_date(claim, context.onsets),
        records=_displays(resource.get("supportingInfo")),
        window=_window(resource),
        due_by=due.isoformat() if due else None,
        sender=context.sender,
        receiver=context.receiver,
        authored_at=authored,
    )


def _injury_date(claim: CoverageSummary | None, onsets: tuple[str, ...]) -> str | None:
    """The claim's date of injury, else the earliest onset among the reasons (docs/fhir-mapping.md §5)."""
    return (claim.injury_date if claim else None) or min((onset[:10] for onset in onsets), default=None)


def _window(resource: Mapping[str, Any]) -> tuple[str, str] | None:
    """occurrencePeriod as two dates (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.occurrence_x_)."""
    period = mapping_from_element(resource.get("occurrencePeriod"))
    start, end = string_from_element(period.get("start")), string_from_element(period.get("end"))
    return (start[:10], end[:10]) if start and end else None


def sender_from_requester(requester: Requester) -> Contact:
    """The ATP's clinic and how to reach it (PractitionerRole telecom, else the organization's)."""
    clinic = requester.organization
    return Contact(
        clinic=clinic.name if clinic else None,
        address=clinic.address if clinic else None,
        phone=requester.phone,
        fax=requester.fax,
    )


def receiver_from_physician(physician: Physician) -> Contact:
    """The chosen physician's clinic, the PractitionerRole's telecom before the clinic's."""
    clinic = physician.clinic
    return Contact(
        clinic=clinic.name if clinic else None,
        address=clinic.address if clinic else None,
        phone=physician.phone or (clinic.phone if clinic else None),
        fax=physician.fax or (clinic.fax if clinic else None),
    )


def contact_from_mapping(value: Any) -> Contact | None:
    """A Contact as kept in JSON (its four fields, each a string or absent), read liberally."""
    kept = mapping_from_element(value)
    fields = {name: string_from_element(kept.get(name)) for name in ("clinic", "address", "phone", "fax")}
    return Contact(**fields) if any(fields.values()) else None


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


def letter_from_transaction(
    bundle: Mapping[str, Any], sender: Contact | None = None, receiver: Contact | None = None
) -> Letter | None:
    """The letter from the transaction Bundle the referral was delivered as (the outbox keeps it): its
    ServiceRequest; the claim from the Coverage entry it names (https://hl7.org/fhir/R4/coverage.html),
    the birth date from its subject's Patient entry, the onsets from its reasons' Condition entries."""
    entries = mappings_from_element(bundle.get("entry"))
    resources = {
        url: mapping_from_element(entry.get("resource"))
        for entry in entries
        if (url := string_from_element(entry.get("fullUrl")))
    }
    request = next((r for r in resources.values() if r.get("resourceType") == "ServiceRequest"), None)
    if request is None:
        return None
    coverage = next((_claim(url, resources[url]) for url in _insurance(request) if url in resources), None)
    subject = resources.get(_reference(request.get("subject")) or "")
    reasons = [resources.get(_reference(reason) or "", {}) for reason in mappings_from_element(
        request.get("reasonReference"))]  # fmt: skip
    context = LetterContext(
        coverage=coverage,
        birth_date=string_from_element(subject.get("birthDate")) if subject else None,
        onsets=tuple(onset for reason in reasons if (onset := onset_from_condition(reason))),
        sender=sender,
        receiver=receiver,
    )
    return letter_from_service_request(request, context=context)


def _reference(value: Any) -> str | None:
    """A Reference's reference: inside the Bundle, an entry's fullUrl."""
    return string_from_element(mapping_from_element(value).get("reference"))


def _claim(full_url: str, coverage: Mapping[str, Any]) -> CoverageSummary:
    """The claim as the Coverage copy carries it: number (subscriberId), insurer (payor), employer,
    and the date of injury (period.start, docs/fhir-mapping.md §5)."""
    payors = mappings_from_element(coverage.get("payor"))
    return CoverageSummary(
        reference=full_url,
        is_workers_comp=True,
        claim_number=string_from_element(coverage.get("subscriberId")),
        insurer=_display(payors[0]) if payors else None,
        employer=_display(coverage.get("policyHolder")),
        injury_date=injury_date_from_coverage(coverage),
    )
