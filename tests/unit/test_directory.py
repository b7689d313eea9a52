"""The directory: PractitionerRole + _include'd Practitioner, Organization and Endpoint."""

from typing import Any

import pytest

from fhir_mappings.directory import (
    clinics_from_resources,
    physicians_from_resources,
    reference_from_url,
    requester_from_resources,
)
from fhir_mappings.domain import Clinic, Physician, Requester
from fhir_mappings.errors import MappingError

NS = "https://so.example.org/fhir"
BASE = "http://ehr.example.org/fhir"
ACCREDITATION = f"{NS}/CodeSystem/co-dowc-accreditation"
NUCC = "http://nucc.org/provider-taxonomy"


def _qualification(code: str, system: str = ACCREDITATION) -> dict[str, Any]:
    return {"code": {"coding": [{"system": system, "code": code}]}}


RESOURCES: list[dict[str, Any]] = [
    {
        "resourceType": "PractitionerRole",
        "id": "r1",
        "practitioner": {"reference": f"{BASE}/Practitioner/p1"},
        "organization": {"reference": "Organization/peak"},
        "specialty": [
            {"coding": [{"system": NUCC, "code": "2083X0100X", "display": "Occ Med"}]},
            {"text": "Sports medicine"},
        ],
    },
    {
        "resourceType": "Practitioner",
        "id": "p1",
        "name": [{"prefix": ["Dr."], "given": ["Ana"], "family": "Ruiz", "suffix": ["MD"]}],
        "qualification": [
            _qualification("MD", "http://terminology.hl7.org/CodeSystem/v2-0360"),
            _qualification("level-i"),
            _qualification("level-ii-full"),
            _qualification("level-ii-limited"),
        ],
    },
    {
        "resourceType": "Organization",
        "id": "peak",
        "name": "Peak Occupational Health",
        "partOf": {"reference": f"{BASE}/Organization/peak-system"},
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}, {}],
        "endpoint": [{"reference": "Endpoint/off"}, {"reference": "Endpoint/on"}],
    },
    {"resourceType": "Endpoint", "id": "off", "status": "off", "address": "https://old/fhir"},
    {"resourceType": "Endpoint", "id": "on", "status": "active", "address": "https://peak/fhir"},
    {"resourceType": "Organization", "id": "peak-system", "alias": ["Peak Health System"]},
    {
        "resourceType": "PractitionerRole",
        "id": "gone",
        "active": False,
        "practitioner": {"reference": "Practitioner/p1"},
    },
    {
        "resourceType": "PractitionerRole",
        "id": "r2",
        "practitioner": {"reference": "Practitioner/p2", "display": "Bo Li"},
        "organization": {"reference": "Organization/elsewhere", "display": "Elsewhere Clinic"},
        "specialty": [{"coding": [{"system": "http://snomed.info/sct", "code": "394821009"}]}],
        "endpoint": [{"reference": "Endpoint/on"}],
    },
    {"resourceType": "PractitionerRole", "id": "r3", "practitioner": {"display": "Nobody"}},
]


def test_physicians_from_resources() -> None:
    ruiz, li = physicians_from_resources(RESOURCES, NS)
    peak = Clinic(
        reference="Organization/peak",
        name="Peak Occupational Health",
        part_of="Organization/peak-system",
        identifiers=("http://hl7.org/fhir/sid/us-npi|1234567893",),
        endpoint="https://peak/fhir",
    )
    assert ruiz == Physician(
        role_reference="PractitionerRole/r1",
        practitioner_reference="Practitioner/p1",
        name="Dr. Ana Ruiz, MD",
        specialties=("Occ Med", "Sports medicine"),
        occupational_medicine=True,
        accreditation="level-ii-full",
        clinic=peak,
    )
    assert li == Physician(
        role_reference="PractitionerRole/r2",
        practitioner_reference="Practitioner/p2",
        name="Bo Li",
        specialties=("394821009",),
        occupational_medicine=True,
        clinic=Clinic("Organization/elsewhere", "Elsewhere Clinic", endpoint="https://peak/fhir"),
    )


@pytest.mark.parametrize(
    ("codes", "level"),
    [
        (["level-i"], "level-i"),
        (["level-i", "level-ii-limited"], "level-ii-limited"),
        (["level-ii-limited", "level-ii-full"], "level-ii-full"),
        (["level-iii"], None),
        ([], None),
    ],
)
def test_accreditation_is_the_highest_level(codes: list[str], level: str | None) -> None:
    practitioner = {
        "resourceType": "Practitioner",
        "id": "p",
        "qualification": [_qualification(code) for code in codes],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "r",
        "practitioner": {"reference": "Practitioner/p"},
    }
    (physician,) = physicians_from_resources([role, practitioner], NS)
    assert physician.accreditation == level


def test_accreditation_in_another_namespace_does_not_count() -> None:
    practitioner = {
        "resourceType": "Practitioner",
        "id": "p",
        "qualification": [_qualification("level-ii-full", "https://other/CodeSystem/x")],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": "r",
        "practitioner": {"reference": "Practitioner/p"},
    }
    (physician,) = physicians_from_resources([practitioner, role], NS)
    assert (physician.accreditation, physician.occupational_medicine) == (None, False)
    assert physician.name == "Unnamed physician"


def test_clinics_from_resources() -> None:
    clinics = clinics_from_resources(RESOURCES)
    assert sorted(clinics) == ["Organization/peak", "Organization/peak-system"]
    assert clinics["Organization/peak-system"] == Clinic(
        "Organization/peak-system", "Peak Health System"
    )
    assert clinics["Organization/peak"].endpoint == "https://peak/fhir"


def test_requester_from_absolute_practitioner_url() -> None:
    requester = requester_from_resources(f"{BASE}/Practitioner/p1", RESOURCES)
    assert requester.reference == "Practitioner/p1"
    assert requester.display == "Dr. Ana Ruiz, MD"
    assert requester.organization is not None
    assert requester.organization.reference == "Organization/peak"


def test_requester_from_practitioner_role() -> None:
    requester = requester_from_resources("PractitionerRole/r2", RESOURCES)
    assert requester == Requester(
        reference="PractitionerRole/r2",
        display="Bo Li",
        organization=Clinic(
            "Organization/elsewhere", "Elsewhere Clinic", endpoint="https://peak/fhir"
        ),
    )


def test_requester_unknown_to_the_directory() -> None:
    assert requester_from_resources("Practitioner/zz", []) == Requester("Practitioner/zz")


def test_requester_must_be_a_practitioner() -> None:
    with pytest.raises(MappingError):
        requester_from_resources("Patient/p1", RESOURCES)


@pytest.mark.parametrize(
    ("url", "reference"),
    [
        ("Organization/x", "Organization/x"),
        ("http://host/fhir/Organization/x", "Organization/x"),
        ("https://host:8443/base/r4/Practitioner/a.b-1/_history/3", "Practitioner/a.b-1"),
    ],
)
def test_reference_from_url(url: str, reference: str) -> None:
    assert reference_from_url(url) == reference


@pytest.mark.parametrize("url", ["#contained", "urn:uuid:1234", "Organization", "x/y/z z", ""])
def test_reference_from_url_rejects_non_references(url: str) -> None:
    with pytest.raises(MappingError):
        reference_from_url(url)
