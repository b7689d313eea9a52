"""Code systems and codes the sandbox seeds, all from docs/fhir-mapping.md (never invented)."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

NUCC = "http://nucc.org/provider-taxonomy"
SNOMED = "http://snomed.info/sct"
V2_0360 = "http://terminology.hl7.org/CodeSystem/v2-0360"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SOPT = "https://nahdo.org/sopt"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ENDPOINT_CONNECTION = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
US_NPI = "http://hl7.org/fhir/sid/us-npi"
NDH_DELIVERY_METHOD = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-delivery-method"
NDH_DELIVERY_METHOD_CS = "http://hl7.org/fhir/us/ndh/CodeSystem/DeliveryMethodCS"
DOWC_ISSUER = "Colorado Division of Workers' Compensation"

ACCREDITATION_DISPLAY = {
    "level-ii-full": "Colorado DOWC Level II Accreditation (full)",
    "level-ii-limited": "Colorado DOWC Level II Accreditation (limited)",
    "level-i": "Colorado DOWC Level I Accreditation",
}
DEGREE_DISPLAY = {"MD": "Doctor of Medicine", "DO": "Doctor of Osteopathy"}


def coding(system: str, code: str, display: str) -> Json:
    """One Coding."""
    return {"system": system, "code": code, "display": display}


def occ_med_specialty() -> Json:
    """PractitionerRole.specialty for occupational medicine (docs/fhir-mapping.md §2)."""
    return {
        "coding": [
            coding(NUCC, "2083X0100X", "Occupational Medicine Physician"),
            coding(SNOMED, "394821009", "Occupational medicine"),
        ],
        "text": "Occupational medicine",
    }


def text_concept(text: str) -> Json:
    """A text-only CodeableConcept, used wherever no verified code exists."""
    return {"text": text}


def accreditation_code(namespace: str, level: str) -> Json:
    """qualification.code for a Colorado DOWC accreditation (docs/fhir-mapping.md §6)."""
    display = ACCREDITATION_DISPLAY[level]
    system = f"{namespace}/CodeSystem/co-dowc-accreditation"
    return {"coding": [coding(system, level, display)], "text": display}


def degree_code(degree: str) -> Json:
    """Practitioner.qualification.code for the MD/DO degree (docs/fhir-mapping.md §6)."""
    return {"coding": [coding(V2_0360, degree, DEGREE_DISPLAY[degree])], "text": degree}


def workers_comp_coverage_type() -> Json:
    """Coverage.type for workers' compensation (docs/fhir-mapping.md §5)."""
    return {
        "coding": [
            coding(SOPT, "95", "Worker's Compensation"),
            coding(ACT_CODE, "WCBPOL", "worker's compensation"),
        ],
        "text": "Workers' compensation",
    }
