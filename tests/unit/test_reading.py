"""Reading EHR resources liberally: Patient, Condition, Coverage, Bundle, OperationOutcome."""

from typing import Any

import pytest

from fhir_mappings.bundle import (
    BatchEntryResponse,
    batch_from_urls,
    next_link_from_bundle,
    resources_from_bundle,
    responses_from_batch_response,
)
from fhir_mappings.condition import condition_summary_from_condition
from fhir_mappings.coverage import (
    coverage_summary_from_coverage,
    workers_comp_coverage_from_coverages,
)
from fhir_mappings.domain import ConditionSummary, CoverageSummary, PatientSummary
from fhir_mappings.errors import MappingError
from fhir_mappings.operation_outcome import (
    diagnostics_from_operation_outcome,
    operation_outcome_from_issue,
)
from fhir_mappings.patient import patient_summary_from_patient

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def test_patient_with_official_name_and_mrn() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [
            {"use": "nickname", "given": ["Janie"]},
            {"use": "official", "given": ["Jane", "Q."], "family": "Doe"},
        ],
        "birthDate": "1980-04-02",
        "gender": "female",
        "identifier": [
            {"system": "urn:ssn", "value": "123"},
            {"type": {"coding": [{"system": V2_0203, "code": "MR"}]}, "value": "MRN-9"},
        ],
    }
    assert patient_summary_from_patient(patient) == PatientSummary(
        reference="Patient/p1",
        name="Jane Q. Doe",
        birth_date="1980-04-02",
        gender="female",
        mrn="MRN-9",
    )


def test_patient_name_text_wins_and_usual_beats_first() -> None:
    names = [{"given": ["First"]}, {"use": "usual", "text": "Jo Doe", "given": ["Joanna"]}]
    summary = patient_summary_from_patient({"resourceType": "Patient", "id": "p", "name": names})
    assert summary.name == "Jo Doe"


def test_empty_patient_still_renders() -> None:
    assert patient_summary_from_patient({"resourceType": "Patient", "id": "p2"}) == PatientSummary(
        reference="Patient/p2", name="Unnamed patient"
    )


def test_patient_with_junk_elements_still_renders() -> None:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "p",
        "name": "Jane",
        "identifier": [None, 3, {}],
    }
    summary = patient_summary_from_patient(patient)
    assert (summary.name, summary.mrn) == ("Unnamed patient", None)


def test_patient_without_mr_type_shows_first_identifier() -> None:
    patient = {"resourceType": "Patient", "id": "p", "identifier": [{}, {"value": "A1"}]}
    assert patient_summary_from_patient(patient).mrn == "A1"


def test_resource_without_id_cannot_be_referenced() -> None:
    with pytest.raises(MappingError):
        patient_summary_from_patient({"resourceType": "Patient"})


def test_condition_full() -> None:
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"code": "S83.511A", "display": "Sprain of ACL"}], "text": "Knee"},
        "onsetPeriod": {"start": "2024-11-03"},
        "bodySite": [{"coding": [{"display": "Right knee"}]}],
    }
    assert condition_summary_from_condition(condition) == ConditionSummary(
        reference="Condition/c1",
        text="Knee",
        clinical_status="active",
        onset="2024-11-03",
        body_site="Right knee",
    )


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (None, "Unnamed condition"),
        ({"coding": [{"code": "S83.511A", "display": "Sprain"}]}, "Sprain"),
        ({"coding": [{"code": "S83.511A"}]}, "S83.511A"),
        ({"text": "  "}, "Unnamed condition"),
    ],
)
def test_condition_text_falls_back(code: object, text: str) -> None:
    condition = {"resourceType": "Condition", "id": "c", "code": code, "onsetString": "spring"}
    summary = condition_summary_from_condition(condition)
    assert (summary.text, summary.onset, summary.body_site) == (text, "spring", None)


WC_COVERAGE = {
    "resourceType": "Coverage",
    "id": "cov1",
    "status": "active",
    "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "95"}]},
    "identifier": [
        {"system": "urn:member", "value": "M1"},
        {"system": "https://so.example.org/fhir/sid/wc-claim", "value": "WC-2024-001"},
    ],
    "subscriberId": "WC-2024-001",
    "payor": [{"reference": "Organization/ins", "display": "Pinnacol Assurance"}],
    "policyHolder": {"display": "Acme Roofing"},
}


def test_workers_comp_coverage() -> None:
    assert coverage_summary_from_coverage(WC_COVERAGE) == CoverageSummary(
        reference="Coverage/cov1",
        is_workers_comp=True,
        claim_number="WC-2024-001",
        insurer="Pinnacol Assurance",
        employer="Acme Roofing",
        status="active",
    )


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("https://nahdo.org/sopt", "951", True),
        ("https://nahdo.org/sopt", "959", True),
        ("https://nahdo.org/sopt", "5", False),
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "WCBPOL", True),
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "WRKCOMP", True),
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "HIP", False),
        ("urn:other", "95", False),
    ],
)
def test_workers_comp_type_codes(system: str, code: str, expected: bool) -> None:
    coverage = {
        "resourceType": "Coverage",
        "id": "c",
        "type": {"coding": [{"system": system, "code": code}]},
    }
    assert coverage_summary_from_coverage(coverage).is_workers_comp is expected


def test_coverage_without_type_reads_as_not_workers_comp() -> None:
    coverage = {"resourceType": "Coverage", "id": "c", "subscriberId": "S-1"}
    assert coverage_summary_from_coverage(coverage) == CoverageSummary(
        reference="Coverage/c", is_workers_comp=False, claim_number="S-1"
    )


def test_claim_number_from_identifier_type_text() -> None:
    coverage = {
        "resourceType": "Coverage",
        "id": "c",
        "identifier": [{"type": {"text": "Workers' compensation Claim number"}, "value": "77"}],
        "subscriberId": "S-1",
    }
    assert coverage_summary_from_coverage(coverage).claim_number == "77"


def test_workers_comp_coverage_choice() -> None:
    health = CoverageSummary("Coverage/h", is_workers_comp=False, status="active")
    old = CoverageSummary("Coverage/old", is_workers_comp=True, status="cancelled")
    new = CoverageSummary("Coverage/new", is_workers_comp=True, status="active")
    assert workers_comp_coverage_from_coverages([health, old, new]) == new
    assert workers_comp_coverage_from_coverages([health, old]) == old
    assert workers_comp_coverage_from_coverages([health]) is None
    assert workers_comp_coverage_from_coverages([]) is None


def test_resources_and_next_link_from_searchset() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": "a"}, {"relation": "next", "url": "b?page=2"}],
        "entry": [{"resource": {"resourceType": "Condition", "id": "1"}}, {"fullUrl": "x"}],
    }
    assert resources_from_bundle(bundle) == [{"resourceType": "Condition", "id": "1"}]
    assert next_link_from_bundle(bundle) == "b?page=2"
    assert next_link_from_bundle({"resourceType": "Bundle"}) is None
    assert resources_from_bundle({"resourceType": "Bundle"}) == []


def test_batch_from_urls() -> None:
    url = "Condition?patient=X&clinical-status=active&_count=100"
    assert batch_from_urls(["Patient/X", url]) == {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/X"}},
            {"request": {"method": "GET", "url": url}},
        ],
    }


def test_batch_response_entries() -> None:
    outcome = operation_outcome_from_issue("not-found", "Patient/X is not known")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "X"}, "response": {"status": "200 OK"}},
            {"response": {"status": "404 Not Found", "outcome": outcome}},
            {"resource": outcome, "response": {"status": "403"}},
        ],
    }
    assert responses_from_batch_response(bundle) == [
        BatchEntryResponse(200, resource={"resourceType": "Patient", "id": "X"}),
        BatchEntryResponse(404, outcome=outcome),
        BatchEntryResponse(403, outcome=outcome),
    ]


def test_batch_response_without_status_is_a_mapping_error() -> None:
    with pytest.raises(MappingError):
        responses_from_batch_response({"entry": [{"response": {"status": "OK"}}]})


def test_operation_outcome_round_trip() -> None:
    outcome = operation_outcome_from_issue("invalid", "No questions", severity="warning")
    assert outcome == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "invalid", "diagnostics": "No questions"}],
    }
    assert diagnostics_from_operation_outcome(outcome) == "No questions"


def test_operation_outcome_rejects_codes_outside_r4() -> None:
    with pytest.raises(MappingError):
        operation_outcome_from_issue("broken", "x")
    with pytest.raises(MappingError):
        operation_outcome_from_issue("invalid", "x", severity="bad")


def test_diagnostics_read_liberally() -> None:
    outcome = {"issue": [{"details": {"text": "Gone"}}, {"diagnostics": "Really"}, {}]}
    assert diagnostics_from_operation_outcome(outcome) == "Gone; Really"
    assert diagnostics_from_operation_outcome({"resourceType": "OperationOutcome"}) is None
