"""Mapping tests with exact JSON: the record-review and in-person ServiceRequests, the Provenance,
the transaction, and the US Core ServiceRequest profile check on every variant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from fhir_mappings.bundle import transaction_from_creates
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    CoverageSummary,
    PatientSummary,
    Physician,
    RecordSummary,
    Referral,
    Requester,
)
from fhir_mappings.provenance import provenance_from_write
from fhir_mappings.record import records_from_resources
from fhir_mappings.service_request import service_request_from_referral
from tests.us_core import us_core_problems

NS = "https://so.example.org/fhir"
ORG = Clinic("Organization/org-atp", "Front Range Occupational Health")
REQUESTER = Requester("Practitioner/atp-1", "Dr. Morgan Avery, MD", ORG)
BASE = Referral(
    id="0123456789abcdef0123456789abcdef",
    patient=PatientSummary("Patient/wc-1", "Dana Whitfield"),
    requester=REQUESTER,
    physician=Physician(
        "PractitionerRole/so-1",
        "Practitioner/so-1-prac",
        "Dr. Riley Chen, MD",
        occupational_medicine=True,
        accreditation="level-ii-full",
        clinic=Clinic("Organization/org-summit", "Summit Occupational Medicine"),
    ),
    modality="record-review",
    questions=("Is the diagnosis correct?",),
    authored_on=datetime(2026, 3, 2, 16, 0, tzinfo=UTC),
    reasons=(ConditionSummary("Condition/wc-1-cond-1", "Strain of lower back muscle", onset="2025-11-03"),),
    coverage=CoverageSummary(
        "Coverage/wc-1-cov-1", True, "WC-2026-001234", "Columbine Mutual Insurance",
        "Rocky Ridge Construction Co.",
    ),
    records=(
        RecordSummary("DocumentReference/wc-1-doc-1", "DocumentReference", "Office visit note"),
        RecordSummary("DiagnosticReport/wc-1-dr-1", "DiagnosticReport", "MRI of the lower back"),
    ),
    encounter="Encounter/wc-1-enc-1",
)
IN_PERSON = replace(BASE, modality="in-person", records=(), window=("2026-03-03", "2026-04-01"))
CLAIM = (
    "Claim WC-2026-001234 · Columbine Mutual Insurance · employer Rocky Ridge Construction Co. · "
    "date of injury 2025-11-03"
)


def test_record_review_shares_the_records_and_carries_the_claim() -> None:
    resource = service_request_from_referral(BASE, NS)
    assert resource["supportingInfo"] == [
        {"reference": "DocumentReference/wc-1-doc-1", "display": "Office visit note"},
        {"reference": "DiagnosticReport/wc-1-dr-1", "display": "MRI of the lower back"},
    ]
    assert resource["insurance"] == [{"reference": "Coverage/wc-1-cov-1", "display": CLAIM}]
    assert resource["reasonReference"] == [
        {"reference": "Condition/wc-1-cond-1", "display": "Strain of lower back muscle"}
    ]
    assert resource["encounter"] == {"reference": "Encounter/wc-1-enc-1"}
    assert "occurrencePeriod" not in resource and "locationCode" not in resource
    assert "Records shared:</b> Office visit note; MRI of the lower back" in resource["text"]["div"]


def test_in_person_carries_the_requested_window() -> None:
    resource = service_request_from_referral(IN_PERSON, NS)
    assert resource["occurrencePeriod"] == {"start": "2026-03-03", "end": "2026-04-01"}
    assert "supportingInfo" not in resource
    assert "Requested window:</b> 2026-03-03 to 2026-04-01" in resource["text"]["div"]


def test_provenance_exact_json() -> None:
    assert provenance_from_write("urn:uuid:1", REQUESTER, "2026-03-02T16:00:00Z", NS) == {
        "resourceType": "Provenance",
        "target": [{"reference": "urn:uuid:1"}],
        "recorded": "2026-03-02T16:00:00Z",
        "activity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                    "code": "CREATE",
                    "display": "create",
                }
            ]
        },
        "agent": [
            {
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "code": "author",
                    "display": "Author",
                }]},
                "who": {"reference": "Practitioner/atp-1", "display": "Dr. Morgan Avery, MD"},
                "onBehalfOf": {
                    "reference": "Organization/org-atp",
                    "display": "Front Range Occupational Health",
                },
            },
            {
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "code": "composer",
                    "display": "Composer",
                }]},
                "who": {
                    "type": "Device",
                    "identifier": {"system": f"{NS}/sid/device", "value": "second-opinion"},
                    "display": "Second Opinion (SMART on FHIR app)",
                },
                "onBehalfOf": {
                    "reference": "Organization/org-atp",
                    "display": "Front Range Occupational Health",
                },
            },
        ],
    }


def test_transaction_creates_conditionally_and_links_by_urn_uuid() -> None:
    bundle = transaction_from_creates(
        [("urn:uuid:a", {"resourceType": "ServiceRequest"}, "identifier=x%7Cy"),
         ("urn:uuid:b", {"resourceType": "Provenance"}, None)]
    )
    assert bundle == {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:a",
                "resource": {"resourceType": "ServiceRequest"},
                "request": {"method": "POST", "url": "ServiceRequest", "ifNoneExist": "identifier=x%7Cy"},
            },
            {
                "fullUrl": "urn:uuid:b",
                "resource": {"resourceType": "Provenance"},
                "request": {"method": "POST", "url": "Provenance"},
            },
        ],
    }


@pytest.mark.parametrize(
    ("referral", "absent"),
    [
        (BASE, {"occurrencePeriod"}),  # a record review has no visit window
        (IN_PERSON, set()),
        (replace(IN_PERSON, modality="telehealth"), set()),
        (replace(IN_PERSON, encounter=None), {"encounter"}),  # the launch gave no encounter
    ],
)
def test_every_service_request_meets_us_core(referral: Referral, absent: set[str]) -> None:
    assert us_core_problems(service_request_from_referral(referral, NS), absent) == []


def test_the_profile_check_catches_a_missing_must_support() -> None:
    resource: dict[str, Any] = service_request_from_referral(IN_PERSON, NS)
    del resource["occurrencePeriod"]
    resource["category"] = resource["category"][1:]
    assert us_core_problems(resource) == [
        "occurrencePeriod is must-support and the data exists",
        "category has no coding in the us-core slice's value set",
    ]


def test_records_of_another_patient_or_withdrawn_are_not_offered() -> None:
    resources = [
        {"resourceType": "DocumentReference", "id": "d1", "subject": {"reference": "Patient/wc-1"},
         "description": "Visit note", "date": "2026-02-10T10:00:00-07:00"},
        {"resourceType": "DiagnosticReport", "id": "r1", "subject": {"reference": "Patient/wc-1"},
         "code": {"text": "MRI"}, "effectiveDateTime": "2026-02-11"},
        {"resourceType": "DocumentReference", "id": "d2", "subject": {"reference": "Patient/other"}},
        {"resourceType": "DocumentReference", "id": "d3", "status": "entered-in-error",
         "subject": {"reference": "Patient/wc-1"}},
        {"resourceType": "DocumentReference", "id": "d4", "subject": {"reference": "Patient/wc-1"}},
    ]
    assert records_from_resources(resources, "Patient/wc-1") == [
        RecordSummary("DiagnosticReport/r1", "DiagnosticReport", "MRI", "2026-02-11"),
        RecordSummary("DocumentReference/d1", "DocumentReference", "Visit note", "2026-02-10T10:00:00-07:00"),
        RecordSummary("DocumentReference/d4", "DocumentReference", "Untitled document", None),
    ]
