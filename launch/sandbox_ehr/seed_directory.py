"""Seed directory: organizations, endpoints, the ATPs and the second-opinion physicians.

All people and organizations are fictional. Ids are fixed: the app and its tests use them.
Related clinics (docs/domain-rules.md): org-atp-north is `partOf` org-atp; org-atp-alias shares
org-atp's NPI identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from .fhir_codes import (
    DOWC_ISSUER,
    ENDPOINT_CONNECTION,
    NDH_DELIVERY_METHOD,
    NDH_DELIVERY_METHOD_CS,
    US_NPI,
    Json,
    accreditation_code,
    coding,
    degree_code,
    occ_med_specialty,
    text_concept,
)

ATP_NPI = "1999000014"


@dataclass(frozen=True)
class Clinic:
    """An Organization; `related` clinics point their Endpoint at the EHR."""

    id: str
    name: str
    npi: str
    related: bool
    part_of: str | None = None
    street: str = ""  # Organization.address (Denver, CO); phone and fax in Organization.telecom
    postal_code: str = ""
    phone: str = ""
    fax: str = ""


@dataclass(frozen=True)
class Physician:
    """A Practitioner with one PractitionerRole."""

    role_id: str
    prac_id: str
    given: str
    family: str
    degree: str
    org_id: str
    accreditation: str | None
    specialty: str  # "occ-med" or free text (no verified code)
    accreditation_end: str = "2028-07-31"  # so-10's has ended: the app must treat it as none
    delivery: tuple[str, ...] = ("physical", "virtual")  # NDH DeliveryMethodCS codes offered
    phone: str = ""  # PractitionerRole.telecom: a direct line, before the clinic's number


# Fictional addresses; phone and fax numbers in the 555-01xx range, which is never assigned.
CLINICS = (
    Clinic("org-atp", "Front Range Occupational Health", ATP_NPI, related=True,
           street="1450 Larimer Street, Suite 300", postal_code="80202", phone="303-555-0140",
           fax="303-555-0141"),
    Clinic("org-atp-north", "Front Range Occupational Health – North", "1999000022", True,
           part_of="org-atp", street="8800 Huron Street", postal_code="80260", phone="303-555-0142",
           fax="303-555-0143"),
    Clinic("org-atp-alias", "FROH Worksite Injury Clinic", ATP_NPI, related=True,
           street="1450 Larimer Street, Suite 310", postal_code="80202", phone="303-555-0144"),
    Clinic("org-summit", "Summit Occupational Medicine", "1999000030", related=False,
           street="2201 East Colfax Avenue", postal_code="80206", phone="303-555-0150",
           fax="303-555-0151"),
    Clinic("org-peak", "Peak Spine & Rehabilitation", "1999000048", related=False,
           street="700 South Colorado Boulevard, Suite 210", postal_code="80246",
           phone="303-555-0160", fax="303-555-0161"),
    Clinic("org-mesa", "Mesa Worker Health", "1999000055", related=False,
           street="3100 West Alameda Avenue", postal_code="80219", phone="303-555-0170",
           fax="303-555-0171"),
    Clinic("org-canyon", "Canyon Orthopedics", "1999000063", related=False,
           street="455 Sherman Street, Floor 4", postal_code="80203", phone="303-555-0180",
           fax="303-555-0181"),
)
EMPLOYERS = (
    ("org-employer-1", "Rocky Ridge Construction Co."),
    ("org-employer-2", "Alpine Freight Logistics"),
    ("org-employer-3", "Foothills Poultry Processing"),
)
INSURERS = (
    ("org-insurer-1", "Columbine Mutual Insurance"),
    ("org-insurer-2", "Granite Peak Casualty"),
)
ATPS = (
    Physician("atp-1-role", "atp-1", "Morgan", "Avery", "MD", "org-atp", "level-ii-full",
              "occ-med", phone="303-555-0145"),
    Physician("atp-2-role", "atp-2", "Jordan", "Ellis", "DO", "org-atp", "level-i", "occ-med"),
)
DIRECTORY = (
    Physician("so-1", "so-1-prac", "Riley", "Chen", "MD", "org-summit", "level-ii-full", "occ-med",
              phone="303-555-0152"),
    Physician("so-2", "so-2-prac", "Casey", "Okafor", "DO", "org-mesa", "level-ii-full", "occ-med",
              delivery=("virtual",)),
    Physician("so-3", "so-3-prac", "Jamie", "Lindqvist", "MD", "org-peak", "level-ii-limited",
              "Physical medicine and rehabilitation", delivery=("physical",)),
    Physician("so-4", "so-4-prac", "Taylor", "Brennan", "MD", "org-canyon", "level-i", "occ-med"),
    Physician("so-5", "so-5-prac", "Avery", "Nakamura", "DO", "org-summit", None, "occ-med"),
    Physician("so-6", "so-6-prac", "Quinn", "Delgado", "MD", "org-canyon", "level-ii-full",
              "Orthopaedic surgery"),
    Physician("so-7", "so-7-prac", "Harper", "Castillo", "MD", "org-atp", "level-ii-full",
              "occ-med"),
    Physician("so-8", "so-8-prac", "Rowan", "Fitzgerald", "DO", "org-atp-north", "level-ii-full",
              "occ-med"),
    Physician("so-9", "so-9-prac", "Emerson", "Patel", "MD", "org-atp-alias", "level-ii-full",
              "occ-med"),
    Physician("so-10", "so-10-prac", "Sawyer", "Lindgren", "MD", "org-mesa", "level-ii-full",
              "occ-med", accreditation_end="2025-07-31", delivery=("virtual",)),
)
CLINIC_NAMES = {c.id: c.name for c in CLINICS}


def directory_resources(namespace: str, ehr_base: str, clinic_base: str) -> list[Json]:
    """Every directory resource for the EHR server."""
    out: list[Json] = []
    for clinic in CLINICS:
        address = ehr_base if clinic.related else clinic_base
        out += [_organization(clinic), _endpoint(clinic, address)]
    out += [_plain_org(i, n, "Employer") for i, n in EMPLOYERS]
    out += [_plain_org(i, n, "Workers' compensation insurer") for i, n in INSURERS]
    for doc in (*ATPS, *DIRECTORY):
        out += [_practitioner(doc, namespace), _role(doc), _service(doc)]
    return out


def clinic_resources(namespace: str, clinic_base: str) -> list[Json]:
    """The unrelated clinics and their physicians, for the receiving clinic's server."""
    clinics = [c for c in CLINICS if not c.related]
    out = [r for c in clinics for r in (_organization(c), _endpoint(c, clinic_base))]
    ids = {c.id for c in clinics}
    for doc in DIRECTORY:
        if doc.org_id in ids:
            out += [_practitioner(doc, namespace), _role(doc), _service(doc)]
    return out


def _organization(clinic: Clinic) -> Json:
    """A clinic Organization with its NPI and Endpoint."""
    org: Json = {
        "resourceType": "Organization",
        "id": clinic.id,
        "active": True,
        "identifier": [{"system": US_NPI, "value": clinic.npi}],
        "type": [text_concept("Outpatient clinic")],
        "name": clinic.name,
        "address": [{"use": "work", "line": [clinic.street], "city": "Denver", "state": "CO",
                     "postalCode": clinic.postal_code, "country": "US"}],
        "telecom": _telecom(clinic.phone, clinic.fax),
        "endpoint": [{"reference": f"Endpoint/ep-{clinic.id.removeprefix('org-')}"}],
    }
    if clinic.part_of:
        org["partOf"] = {"reference": f"Organization/{clinic.part_of}",
                         "display": CLINIC_NAMES[clinic.part_of]}
    return org


def _plain_org(org_id: str, name: str, kind: str) -> Json:
    """An employer or insurer Organization."""
    return {"resourceType": "Organization", "id": org_id, "active": True,
            "type": [text_concept(kind)], "name": name}


def _endpoint(clinic: Clinic, address: str) -> Json:
    """The clinic's FHIR REST Endpoint."""
    return {
        "resourceType": "Endpoint",
        "id": f"ep-{clinic.id.removeprefix('org-')}",
        "status": "active",
        "connectionType": coding(ENDPOINT_CONNECTION, "hl7-fhir-rest", "HL7 FHIR"),
        "name": f"{clinic.name} FHIR endpoint",
        "managingOrganization": {"reference": f"Organization/{clinic.id}", "display": clinic.name},
        "payloadType": [text_concept("FHIR R4")],
        "address": address,
    }


def _practitioner(doc: Physician, namespace: str) -> Json:
    """A Practitioner with degree and (if any) DOWC accreditation qualifications."""
    quals: list[Json] = [{"code": degree_code(doc.degree)}]
    if doc.accreditation:
        quals.append(_accreditation(doc, namespace))
    return {
        "resourceType": "Practitioner",
        "id": doc.prac_id,
        "active": True,
        "name": [{"family": doc.family, "given": [doc.given], "prefix": ["Dr."],
                  "suffix": [doc.degree], "text": display_name(doc)}],
        "qualification": quals,
    }


def _accreditation(doc: Physician, namespace: str) -> Json:
    """Practitioner.qualification for a Colorado DOWC accreditation (docs/fhir-mapping.md §6)."""
    assert doc.accreditation is not None
    number = f"DOWC-{doc.prac_id.upper()}"
    return {
        "identifier": [{"system": f"{namespace}/sid/co-dowc-accreditation", "value": number}],
        "code": accreditation_code(namespace, doc.accreditation),
        "period": {"start": "2022-08-01" if doc.accreditation_end < "2028" else "2025-08-01",
                   "end": doc.accreditation_end},
        "issuer": {"display": DOWC_ISSUER},
    }


def _role(doc: Physician) -> Json:
    """The PractitionerRole the directory lists."""
    specialty = occ_med_specialty() if doc.specialty == "occ-med" else text_concept(doc.specialty)
    clinic = CLINIC_NAMES[doc.org_id]
    return {
        "resourceType": "PractitionerRole",
        "id": doc.role_id,
        "active": True,
        "practitioner": {"reference": f"Practitioner/{doc.prac_id}", "display": display_name(doc)},
        "organization": {"reference": f"Organization/{doc.org_id}", "display": clinic},
        "specialty": [specialty],
        "healthcareService": [{"reference": f"HealthcareService/hs-{doc.role_id}"}],
        "endpoint": [{"reference": f"Endpoint/ep-{doc.org_id.removeprefix('org-')}"}],
        **({"telecom": _telecom(doc.phone, "")} if doc.phone else {}),
    }


def _telecom(phone: str, fax: str) -> list[Json]:
    """ContactPoints for work: the phone, then the fax (https://hl7.org/fhir/R4/datatypes.html#ContactPoint)."""
    points = [("phone", phone), ("fax", fax)]
    return [{"system": system, "value": value, "use": "work"} for system, value in points if value]


def _service(doc: Physician) -> Json:
    """The physician's second-opinion service with the NDH delivery methods it offers
    (docs/fhir-mapping.md §8)."""
    return {
        "resourceType": "HealthcareService",
        "id": f"hs-{doc.role_id}",
        "active": True,
        "providedBy": {"reference": f"Organization/{doc.org_id}"},
        "name": "Second opinions in workers' compensation",
        "extension": [
            {"url": NDH_DELIVERY_METHOD,
             "extension": [{"url": "deliveryMethodtype",
                            "valueCodeableConcept": {"coding": [coding(NDH_DELIVERY_METHOD_CS, code,
                                                                       code.title())]}}]}
            for code in doc.delivery
        ],
    }


def display_name(doc: Physician) -> str:
    """'Dr. Morgan Avery, MD'."""
    return f"Dr. {doc.given} {doc.family}, {doc.degree}"
