"""The banner's view of a Patient: https://hl7.org/fhir/R4/patient.html."""

from collections.abc import Mapping
from typing import Any

from fhir_mappings.codeable_concept import codes_from_codeable_concept
from fhir_mappings.codes import MEDICAL_RECORD_NUMBER_TYPE, V2_0203
from fhir_mappings.domain import PatientSummary
from fhir_mappings.element import mappings_from_element, string_from_element
from fhir_mappings.human_name import text_from_human_names
from fhir_mappings.reference import reference_from_resource

UNNAMED_PATIENT = "Unnamed patient"


def patient_summary_from_patient(resource: Mapping[str, Any]) -> PatientSummary:
    """Name, birth date, gender and MRN as sent; a Patient with no name still renders."""
    return PatientSummary(
        reference=reference_from_resource(resource),
        name=text_from_human_names(resource.get("name")) or UNNAMED_PATIENT,
        birth_date=string_from_element(resource.get("birthDate")),
        gender=string_from_element(resource.get("gender")),
        mrn=mrn_from_identifiers(resource.get("identifier")),
    )


def mrn_from_identifiers(identifiers: Any) -> str | None:
    """The identifier typed v2-0203 MR, else the first value (https://hl7.org/fhir/R4/datatypes.html#Identifier)."""
    values = [
        (identifier, string_from_element(identifier.get("value")))
        for identifier in mappings_from_element(identifiers)
    ]
    for identifier, value in values:
        types = codes_from_codeable_concept(identifier.get("type"))
        if value and any(
            code == MEDICAL_RECORD_NUMBER_TYPE and system in (V2_0203, None)
            for system, code in types
        ):
            return value
    return next((value for _, value in values if value), None)
