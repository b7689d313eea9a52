"""The code tables of codes.py against docs/fhir-mapping.md."""

from fhir_mappings.codes import (
    ACCREDITATION_DISPLAY,
    ACCREDITATION_RANK,
    MODALITY_DISPLAY,
    MODALITY_TRANSLATION,
    OCCUPATIONAL_MEDICINE_CODES,
    WORKERS_COMP_CODES,
    identifier_system,
    local_system,
)
from fhir_mappings.domain import MODALITIES


def test_local_systems_and_identifier_systems() -> None:
    assert local_system("https://so.example.org/fhir", "second-opinion") == (
        "https://so.example.org/fhir/CodeSystem/second-opinion"
    )
    assert identifier_system("https://so.example.org/fhir/", "referral") == (
        "https://so.example.org/fhir/sid/referral"
    )


def test_modality_tables_cover_every_modality() -> None:
    assert tuple(MODALITY_DISPLAY) == MODALITIES
    assert MODALITY_DISPLAY == {
        "in-person": "In person",
        "telehealth": "Telehealth",
        "record-review": "Medical record review",
    }
    assert {
        m: c.system.rsplit("/", 1)[1] + "|" + c.code for m, c in MODALITY_TRANSLATION.items()
    } == {
        "in-person": "v3-ActCode|AMB",
        "telehealth": "v3-ActCode|VR",
    }


def test_accreditation_tables() -> None:
    assert ACCREDITATION_RANK == ("level-ii-full", "level-ii-limited", "level-i")
    assert set(ACCREDITATION_DISPLAY) == set(ACCREDITATION_RANK)
    assert ACCREDITATION_DISPLAY["level-ii-full"] == "Colorado DOWC Level II Accreditation (full)"


def test_recognised_specialty_and_coverage_codes() -> None:
    assert OCCUPATIONAL_MEDICINE_CODES == {
        ("http://nucc.org/provider-taxonomy", "2083X0100X"),
        ("http://nucc.org/provider-taxonomy", "2083P0500X"),
        ("http://snomed.info/sct", "394821009"),
    }
    assert WORKERS_COMP_CODES == {
        *(("https://nahdo.org/sopt", code) for code in ("95", "951", "953", "954", "959")),
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "WCBPOL"),
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "WRKCOMP"),
    }
