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
from fhir_mappings.domain import MODALITIES, CoverageSummary, Modality
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.referral_number import referral_number_from_id
from fhir_mappings.service_request import questions_from_service_request

PERFORMER_SEPARATOR = " — "  # service_request.py writes performer.display as "Physician — Clinic"
_QUESTION_NOTE = re.compile(r"^Question \d+ of \d+: ")  # the notes service_request.py writes


@dataclass(frozen=True)
class Letter:
    """What the referral letter says; None where the ServiceRequest or chart has nothing."""

    referral_id: str | None
    authored: str | None  # the date part of authoredOn, as sent
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

    @property
    def number(self) -> str | None:
        """The short referral number read out on the phone (fhir_mappings/referral_number.py)."""
        try:
            return referral_number_from_id(self.referral_id) if self.referral_id else None
        except ValueError:
            return None


def letter_from_service_request(
    resource: Mapping[str, Any], coverage: CoverageSummary | None = None
) -> Letter:
    """The letter's content; the coverage counts only if it is the one the ServiceRequest names."""
    physician, clinic = performer_from_service_request(resource)
    claim = coverage if coverage and coverage.reference in _insurance(resource) else None
    authored = string_from_element(resource.get("authoredOn"))
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
        reasons=tuple(
            text
            for reason in mappings_from_element(resource.get("reasonReference"))
            if (text := string_from_element(reason.get("display")))
        ),
        claim=claim.claim_number if claim else None,
        insurer=claim.insurer if claim else None,
        employer=claim.employer if claim else None,
    )


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


def letter_from_transaction(bundle: Mapping[str, Any]) -> Letter | None:
    """The letter from the transaction Bundle the referral was delivered as (the outbox keeps it): its
    ServiceRequest, and the claim from its Coverage entry (https://hl7.org/fhir/R4/coverage.html)."""
    entries = mappings_from_element(bundle.get("entry"))
    resources = [(string_from_element(e.get("fullUrl")), mapping_from_element(e.get("resource")))
                 for e in entries]  # fmt: skip
    request = next((r for _, r in resources if r.get("resourceType") == "ServiceRequest"), None)
    if request is None:
        return None
    coverages = (_claim(url, r) for url, r in resources if url and r.get("resourceType") == "Coverage")
    coverage = next(coverages, None)
    return letter_from_service_request(request, coverage)


def _claim(full_url: str, coverage: Mapping[str, Any]) -> CoverageSummary:
    """The claim as the Coverage copy carries it: number (subscriberId), insurer (payor), employer."""
    payors = mappings_from_element(coverage.get("payor"))
    return CoverageSummary(
        reference=full_url,
        is_workers_comp=True,
        claim_number=string_from_element(coverage.get("subscriberId")),
        insurer=_display(payors[0]) if payors else None,
        employer=_display(coverage.get("policyHolder")),
    )
