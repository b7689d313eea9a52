"""The physician directory: PractitionerRole plus its Practitioner, Organization and Endpoint.

https://hl7.org/fhir/R4/practitionerrole.html; resources arrive as one flat list in any
order (https://hl7.org/fhir/R4/search.html#include) and references may be absolute.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fhir_mappings.codeable_concept import (
    codes_from_codeable_concept,
    has_code,
    text_from_codeable_concept,
)
from fhir_mappings.codes import (
    ACCREDITATION_RANK,
    ACCREDITATION_SYSTEM_ID,
    DELIVERY_METHOD_MODALITY,
    NDH_DELIVERY_METHOD,
    NDH_DELIVERY_METHOD_CS,
    NDH_DELIVERY_METHOD_TYPE,
    OCCUPATIONAL_MEDICINE_CODES,
    local_system,
)
from fhir_mappings.contact import address_text_from_addresses, contact_from_resource
from fhir_mappings.domain import MODALITIES, Accreditation, Clinic, Modality, Physician, Requester
from fhir_mappings.element import (
    mapping_from_element,
    mappings_from_element,
    string_from_element,
    strings_from_element,
)
from fhir_mappings.errors import MappingError
from fhir_mappings.human_name import text_from_human_names
from fhir_mappings.reference import (
    reference_from_reference,
    reference_from_resource,
    reference_from_url,
    resources_by_reference,
)

__all__ = [
    "accreditation_from_practitioner",
    "clinics_from_resources",
    "physicians_from_resources",
    "reference_from_url",
    "requester_from_resources",
]

UNNAMED_PHYSICIAN = "Unnamed physician"
UNNAMED_CLINIC = "Unnamed clinic"
_Index = Mapping[str, Mapping[str, Any]]


def physicians_from_resources(resources: Sequence[Mapping[str, Any]], ns: str) -> list[Physician]:
    """One Physician per PractitionerRole that is not `active: false` and names a practitioner."""
    index = resources_by_reference(resources)
    physicians = (_physician_from_role(role, index, ns) for role in _active_roles(resources))
    return [physician for physician in physicians if physician is not None]


def clinics_from_resources(resources: Sequence[Mapping[str, Any]]) -> dict[str, Clinic]:
    """Every Organization, keyed by its relative reference "Organization/id"."""
    index = resources_by_reference(resources)
    return {
        reference: _clinic_from_organization(resource, index)
        for reference, resource in index.items()
        if resource.get("resourceType") == "Organization"
    }


def requester_from_resources(
    fhir_user: str, resources: Sequence[Mapping[str, Any]], ns: str = ""
) -> Requester:
    """The ATP from the id_token's fhirUser claim (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)."""
    reference = reference_from_url(fhir_user)
    index = resources_by_reference(resources)
    kind = reference.split("/")[0]
    if kind == "PractitionerRole":
        roles = [index[reference]] if reference in index else []
        practitioner = roles[0].get("practitioner") if roles else None
    elif kind == "Practitioner":
        practitioner = {"reference": reference}
        roles = [
            role
            for role in _active_roles(resources)
            if reference_from_reference(role.get("practitioner")) == reference
        ]
    else:
        raise MappingError(f"fhirUser must be a Practitioner or PractitionerRole, not {kind}")
    clinics = (_clinic_from_role(role, index) for role in roles)
    organization = next((clinic for clinic in clinics if clinic is not None), None)
    phone, fax = contact_from_resource(roles[0]) if roles else (None, None)
    practitioner_reference = reference_from_reference(practitioner)
    accreditations = _accreditations(index.get(practitioner_reference or "", {}), ns) if ns else []
    level, qualification = accreditations[0] if accreditations else (None, {})
    return Requester(
        reference=reference,
        display=_name_from_practitioner(practitioner, index),
        organization=organization,
        phone=phone or (organization.phone if organization else None),
        fax=fax or (organization.fax if organization else None),
        accreditation=level,
        accreditation_end=_period(qualification, "end"),
    )


def _clinic_from_organization(
    organization: Mapping[str, Any], index: _Index, fallback_endpoints: Any = None
) -> Clinic:
    """A Clinic: name, partOf, "system|value" identifiers, first active Endpoint's address."""
    identifiers = tuple(
        f"{system}|{value}"
        for identifier in mappings_from_element(organization.get("identifier"))
        if (system := string_from_element(identifier.get("system")))
        and (value := string_from_element(identifier.get("value")))
    )
    names = [organization.get("name"), *strings_from_element(organization.get("alias"))]
    phone, fax = contact_from_resource(organization)
    return Clinic(
        reference=reference_from_resource(organization),
        name=next(filter(None, map(string_from_element, names)), UNNAMED_CLINIC),
        part_of=reference_from_reference(organization.get("partOf")),
        identifiers=identifiers,
        endpoint=_address_from_endpoints(organization.get("endpoint"), index)
        or _address_from_endpoints(fallback_endpoints, index),
        address=address_text_from_addresses(organization.get("address")),
        phone=phone,
        fax=fax,
    )


def accreditation_from_practitioner(
    practitioner: Mapping[str, Any], ns: str
) -> Accreditation | None:
    """The highest Colorado DOWC accreditation in qualification.code (docs/fhir-mapping.md §6)."""
    found = _accreditations(practitioner, ns)
    return found[0][0] if found else None


def _accreditations(
    practitioner: Mapping[str, Any], ns: str
) -> list[tuple[Accreditation, Mapping[str, Any]]]:
    """DOWC qualifications, highest level first and, within a level, the latest expiry first."""
    system = local_system(ns, ACCREDITATION_SYSTEM_ID)
    found = [
        (level, qualification)
        for qualification in mappings_from_element(practitioner.get("qualification"))
        for coding_system, code in codes_from_codeable_concept(qualification.get("code"))
        if coding_system == system
        for level in ACCREDITATION_RANK
        if level == code
    ]
    found.sort(key=lambda item: _period(item[1], "end") or "9999", reverse=True)
    found.sort(key=lambda item: ACCREDITATION_RANK.index(item[0]))
    return found


def _period(qualification: Mapping[str, Any], edge: str) -> str | None:
    """Qualification.period.start or .end (https://hl7.org/fhir/R4/practitioner-definitions.html#Practitioner.qualification.period)."""
    return string_from_element(mapping_from_element(qualification.get("period")).get(edge))


def _physician_from_role(role: Mapping[str, Any], index: _Index, ns: str) -> Physician | None:
    practitioner_reference = reference_from_reference(role.get("practitioner"))
    if practitioner_reference is None:
        return None
    practitioner = index.get(practitioner_reference, {})
    specialties = mappings_from_element(role.get("specialty"))
    accreditations = _accreditations(practitioner, ns)
    level, qualification = accreditations[0] if accreditations else (None, {})
    issuer = mapping_from_element(qualification.get("issuer"))
    phone, fax = contact_from_resource(role)
    return Physician(
        role_reference=reference_from_resource(role),
        practitioner_reference=practitioner_reference,
        name=_name_from_practitioner(role.get("practitioner"), index) or UNNAMED_PHYSICIAN,
        specialties=tuple(
            text for text in map(text_from_codeable_concept, specialties) if text is not None
        ),
        occupational_medicine=any(has_code(s, OCCUPATIONAL_MEDICINE_CODES) for s in specialties),
        accreditation=level,
        clinic=_clinic_from_role(role, index),
        accreditation_issuer=string_from_element(issuer.get("display")),
        accreditation_start=_period(qualification, "start"),
        accreditation_end=_period(qualification, "end"),
        visit_types=_visit_types(role, index),
        phone=phone,
        fax=fax,
    )


def _visit_types(role: Mapping[str, Any], index: _Index) -> tuple[Modality, ...]:
    """In person / telehealth from the role's HealthcareServices' NDH delivery methods (docs/fhir-mapping.md
    §8); a listed service also takes record reviews, which need no visit."""
    found: set[Modality] = set()
    services = [
        index.get(reference, {})
        for element in mappings_from_element(role.get("healthcareService"))
        if (reference := reference_from_reference(element))
    ]
    for service in services:
        for extension in mappings_from_element(service.get("extension")):
            if extension.get("url") != NDH_DELIVERY_METHOD:
                continue
            for part in mappings_from_element(extension.get("extension")):
                if part.get("url") == NDH_DELIVERY_METHOD_TYPE:
                    found.update(
                        DELIVERY_METHOD_MODALITY[code]
                        for system, code in codes_from_codeable_concept(part.get("valueCodeableConcept"))
                        if system == NDH_DELIVERY_METHOD_CS and code in DELIVERY_METHOD_MODALITY
                    )
    if found:
        found.add("record-review")
    return tuple(m for m in MODALITIES if m in found)


def _clinic_from_role(role: Mapping[str, Any], index: _Index) -> Clinic | None:
    """The role's Organization; only its display and reference when it was not _include'd."""
    element = mapping_from_element(role.get("organization"))
    reference = reference_from_reference(element)
    if reference is None:
        return None
    if reference in index:
        return _clinic_from_organization(index[reference], index, role.get("endpoint"))
    return Clinic(
        reference=reference,
        name=string_from_element(element.get("display")) or UNNAMED_CLINIC,
        endpoint=_address_from_endpoints(role.get("endpoint"), index),
    )


def _name_from_practitioner(element: Any, index: _Index) -> str | None:
    """The Practitioner's name with titles, else the Reference's display."""
    reference = reference_from_reference(element)
    practitioner = index.get(reference, {}) if reference else {}
    return text_from_human_names(practitioner.get("name"), with_titles=True) or string_from_element(
        mapping_from_element(element).get("display")
    )


def _address_from_endpoints(references: Any, index: _Index) -> str | None:
    """The address of the first active Endpoint (https://hl7.org/fhir/R4/endpoint.html#Endpoint.status)."""
    for element in mappings_from_element(references):
        reference = reference_from_reference(element)
        endpoint = index.get(reference, {}) if reference else {}
        address = string_from_element(endpoint.get("address"))
        if address and endpoint.get("status", "active") == "active":
            return address
    return None


def _active_roles(resources: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        resource
        for resource in resources
        if resource.get("resourceType") == "PractitionerRole"
        and resource.get("active") is not False
        and string_from_element(resource.get("id"))
    ]
