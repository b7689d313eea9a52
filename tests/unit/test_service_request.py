"""The ServiceRequest of docs/fhir-mapping.md: exact codes, notes, narrative, validation."""

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from fhir_mappings.codes import SCOPE_STATEMENT
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    CoverageSummary,
    PatientSummary,
    Physician,
    Referral,
    Requester,
)
from fhir_mappings.errors import MappingError
from fhir_mappings.service_request import (
    if_none_exist_from_referral,
    questions_from_service_request,
    service_request_from_referral,
)

NS = "https://so.example.org/fhir"
SNOMED = "http://snomed.info/sct"
THO = "http://terminology.hl7.org/CodeSystem"
AUTHORED = datetime(2025, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=-7)))

REFERRAL = Referral(
    id="ref-123",
    patient=PatientSummary("Patient/p1", "Jane Doe"),
    requester=Requester("Practitioner/atp", "Dr. Sam Atp, DO"),
    physician=Physician(
        "PractitionerRole/r1",
        "Practitioner/p1",
        "Dr. Ana Ruiz, MD",
        occupational_medicine=True,
        clinic=Clinic("Organization/peak", "Peak Occupational Health"),
    ),
    modality="in-person",
    questions=("Is the diagnosis correct?", "Has she reached MMI?", "Restrictions ok?"),
    authored_on=AUTHORED,
    reasons=(ConditionSummary("Condition/c1", "Sprain of right knee"),),
    coverage=CoverageSummary("Coverage/cov1", is_workers_comp=True),
)


def _codings(value: Any) -> set[str]:
    """Every system|code pair anywhere in the JSON."""
    if isinstance(value, dict):
        found = (
            {f"{value['system']}|{value['code']}"}
            if "code" in value and "system" in value
            else set()
        )
        return found.union(*(_codings(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_codings(item) for item in value))
    return set()


def test_every_coding_is_from_codes_md() -> None:
    resource = service_request_from_referral(REFERRAL, NS)
    assert _codings(resource) == {
        f"{THO}/v2-0203|PLAC",
        f"{SNOMED}|3457005",
        f"{NS}/CodeSystem/second-opinion|second-opinion",
        f"{SNOMED}|386053000",
        f"{THO}/v2-0336|S",
        f"{NS}/CodeSystem/second-opinion|opinion-only",
        f"{NS}/CodeSystem/referral-modality|in-person",
        f"{THO}/v3-ActCode|AMB",
        "http://nucc.org/provider-taxonomy|2083X0100X",
        f"{THO}/v3-RoleCode|OF",
    }


def test_shape_of_design_section_3() -> None:
    resource = service_request_from_referral(REFERRAL, NS)
    assert resource["identifier"] == [
        {
            "use": "official",
            "type": {
                "coding": [
                    {"system": f"{THO}/v2-0203", "code": "PLAC", "display": "Placer Identifier"}
                ]
            },
            "system": f"{NS}/sid/referral",
            "value": "ref-123",
        }
    ]
    assert (resource["status"], resource["intent"], resource["priority"]) == (
        "active",
        "order",
        "routine",
    )
    assert resource["code"]["text"] == "Second opinion (opinion only)"
    assert [c["coding"][0]["code"] for c in resource["category"]] == ["386053000", "S"]
    assert resource["subject"] == {"reference": "Patient/p1", "display": "Jane Doe"}
    assert resource["requester"] == {"reference": "Practitioner/atp", "display": "Dr. Sam Atp, DO"}
    assert resource["performer"] == [
        {
            "reference": "PractitionerRole/r1",
            "display": "Dr. Ana Ruiz, MD — Peak Occupational Health",
        }
    ]
    assert resource["performerType"]["text"] == "Occupational Medicine Physician"
    assert resource["reasonReference"] == [
        {"reference": "Condition/c1", "display": "Sprain of right knee"}
    ]
    assert resource["insurance"] == [
        {"reference": "Coverage/cov1", "display": "Workers' compensation"}
    ]
    assert resource["authoredOn"] == "2025-03-04T09:30:00-07:00"
    assert [d["text"] for d in resource["orderDetail"]] == [
        "Opinion only: no transfer of care, no co-management",
        "In person",
    ]


def test_scope_note_first_then_numbered_questions() -> None:
    notes = service_request_from_referral(REFERRAL, NS)["note"]
    assert [note["text"] for note in notes] == [
        SCOPE_STATEMENT,
        "Question 1 of 3: Is the diagnosis correct?",
        "Question 2 of 3: Has she reached MMI?",
        "Question 3 of 3: Restrictions ok?",
    ]
    author = {"reference": "Practitioner/atp", "display": "Dr. Sam Atp, DO"}
    assert all(n["authorReference"] == author for n in notes)
    assert all(n["time"] == "2025-03-04T09:30:00-07:00" for n in notes)


def test_questions_read_back_from_notes() -> None:
    resource = service_request_from_referral(REFERRAL, NS)
    resource["note"].append({"text": "Patient prefers mornings."})  # another system's note
    assert questions_from_service_request(resource) == REFERRAL.questions
    assert questions_from_service_request({"resourceType": "ServiceRequest"}) == ()


@pytest.mark.parametrize(
    ("modality", "translation", "text"),
    [("telehealth", "VR", "Telehealth"), ("record-review", None, "Medical record review")],
)
def test_modality_without_location_code(modality: Any, translation: str | None, text: str) -> None:
    resource = service_request_from_referral(replace(REFERRAL, modality=modality), NS)
    assert "locationCode" not in resource
    detail = resource["orderDetail"][1]
    assert detail["text"] == text
    assert detail["coding"][0] == {
        "system": f"{NS}/CodeSystem/referral-modality",
        "code": modality,
        "display": text,
    }
    assert [c["code"] for c in detail["coding"][1:]] == ([translation] if translation else [])


def test_location_code_only_in_person() -> None:
    resource = service_request_from_referral(REFERRAL, NS)
    assert resource["locationCode"] == [
        {
            "coding": [
                {"system": f"{THO}/v3-RoleCode", "code": "OF", "display": "Outpatient facility"}
            ]
        }
    ]


def test_narrative_is_xhtml_and_escapes_free_text() -> None:
    hostile = replace(
        REFERRAL,
        patient=PatientSummary("Patient/p1", "<script>alert(1)</script>"),
        questions=("Is A & B < C?", '"quoted" <b>bold</b>'),
    )
    div = service_request_from_referral(hostile, NS)["text"]["div"]
    assert "<script>" not in div and "<b>bold" not in div
    assert "&lt;script&gt;" in div
    root = ElementTree.fromstring(div)
    assert root.tag == "{http://www.w3.org/1999/xhtml}div"
    text = "".join(root.itertext())
    for fragment in ("<script>alert(1)</script>", "Is A & B < C?", "Dr. Ana Ruiz, MD", "In person"):
        assert fragment in text
    assert SCOPE_STATEMENT in text


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(MappingError, match="timezone"):
        service_request_from_referral(replace(REFERRAL, authored_on=datetime(2025, 3, 4)), NS)


def test_no_questions_is_refused() -> None:
    with pytest.raises(MappingError):
        service_request_from_referral(replace(REFERRAL, questions=()), NS)


def test_invalid_resource_raises_mapping_error() -> None:
    # Python renders a seconds offset as "+01:00:30"; a FHIR dateTime zone is only ±hh:mm.
    odd_zone = AUTHORED.replace(tzinfo=timezone(timedelta(hours=1, seconds=30)))
    with pytest.raises(MappingError, match="not valid FHIR"):
        service_request_from_referral(replace(REFERRAL, authored_on=odd_zone), NS)


def test_unknown_modality_is_refused() -> None:
    with pytest.raises(MappingError, match="modality"):
        house_call: Any = "house call"
        service_request_from_referral(replace(REFERRAL, modality=house_call), NS)


def test_round_trips_through_the_r4b_model() -> None:
    resource = service_request_from_referral(
        replace(REFERRAL, authored_on=AUTHORED.astimezone(UTC)), NS
    )
    assert resource["authoredOn"] == "2025-03-04T16:30:00Z"
    model = ServiceRequest.model_validate(resource)
    assert json.loads(model.model_dump_json()) == resource


def test_minimal_referral_has_no_empty_elements() -> None:
    minimal = replace(
        REFERRAL,
        requester=Requester("Practitioner/atp"),
        physician=Physician("PractitionerRole/r1", "Practitioner/p1", "Dr. B"),
        reasons=(),
        coverage=None,
    )
    resource = service_request_from_referral(minimal, NS)
    assert "reasonReference" not in resource and "insurance" not in resource
    assert resource["requester"] == {"reference": "Practitioner/atp"}
    assert resource["performer"] == [{"reference": "PractitionerRole/r1", "display": "Dr. B"}]
    assert "None" not in json.dumps(resource) and "[]" not in json.dumps(resource)


def test_if_none_exist() -> None:
    assert if_none_exist_from_referral(REFERRAL, NS) == (
        "identifier=https%3A%2F%2Fso.example.org%2Ffhir%2Fsid%2Freferral|ref-123"
    )
    odd = replace(REFERRAL, id="a|b c")
    assert if_none_exist_from_referral(odd, NS).endswith("|a%5C%7Cb%20c")


def test_performer_type_is_occupational_medicine_only_for_such_a_physician() -> None:
    surgeon = replace(REFERRAL.physician, specialties=("Orthopaedic surgery",), occupational_medicine=False)
    resource = service_request_from_referral(replace(REFERRAL, physician=surgeon), NS)
    assert "performerType" not in resource
    assert _codings(service_request_from_referral(REFERRAL, NS)["performerType"]) == {
        "http://nucc.org/provider-taxonomy|2083X0100X"
    }
