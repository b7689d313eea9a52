"""The letter and the handout from the transaction Bundle the outbox keeps, with the contacts kept
beside it: every line the chart gave at send time, and nothing read again from the EHR."""

from dataclasses import replace
from datetime import date
from typing import Any

from fhir_mappings.domain import ConditionSummary, CoverageSummary, PatientSummary, Referral
from fhir_mappings.handout import handout_from_letter
from fhir_mappings.letter import (
    Contact,
    letter_from_transaction,
    receiver_from_physician,
    sender_from_requester,
)
from fhir_mappings.transaction import transaction_from_referral
from tests.unit.test_letter import ATP, SUMMIT
from tests.unit.test_service_request import NS
from tests.unit.test_transaction import ISS, REVIEW, SHARED

COVERAGE = CoverageSummary("Coverage/cov1", is_workers_comp=True, claim_number="WC-9", insurer="Pinnacol",
                           employer="Front Range Builders")
REFERRAL = replace(
    REVIEW,
    patient=PatientSummary("Patient/p1", "Nguyễn Thị Hoa", birth_date="1979-06-02"),
    requester=ATP,
    physician=replace(REVIEW.physician, clinic=SUMMIT),
    reasons=(ConditionSummary("Condition/c1", "Lumbar strain", onset="2025-11-03"),
             ConditionSummary("Condition/c2", "Knee sprain", onset="2025-10-20T09:00:00-06:00")),
    coverage=COVERAGE,
    due_by=date(2027, 2, 1),
)


def _bundle(referral: Referral = REFERRAL) -> dict[str, Any]:
    return transaction_from_referral(referral, NS, ISS, lambda name: f"urn:uuid:{name}", SHARED)


def test_the_bundle_and_the_kept_contacts_give_the_whole_letter() -> None:
    sender, receiver = sender_from_requester(ATP), receiver_from_physician(REFERRAL.physician)
    letter = letter_from_transaction(_bundle(), sender, receiver)
    assert letter is not None
    assert (letter.patient, letter.birth_date) == ("Nguyễn Thị Hoa", "1979-06-02")
    assert letter.injury_date == "2025-10-20"  # no date on the claim: the earliest reason's onset
    assert (letter.claim, letter.insurer, letter.employer) == ("WC-9", "Pinnacol", "Front Range Builders")
    assert letter.records == ("Office visit note", "MRI of the lower back")
    assert letter.due_by == "2027-02-01"
    assert letter.sender == Contact("Front Range Occupational Health",
                                    "1450 Larimer Street, Suite 300, Denver, CO 80202", "303-555-0145",
                                    "303-555-0141")
    assert letter.receiver == Contact("Summit Occupational Health",
                                      "2201 East Colfax Avenue, Denver, CO 80206", "303-555-0150", None)


def test_the_claims_date_of_injury_travels_as_the_coverage_period_and_comes_first() -> None:
    bundle = _bundle(replace(REFERRAL, coverage=replace(COVERAGE, injury_date="2025-10-01")))
    [coverage] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage"]
    assert coverage["period"] == {"start": "2025-10-01"}
    letter = letter_from_transaction(bundle)
    assert letter is not None and letter.injury_date == "2025-10-01"


def test_without_kept_contacts_the_letter_and_handout_still_read() -> None:
    letter = letter_from_transaction(_bundle())  # a referral sent before the outbox kept them
    assert letter is not None and (letter.sender, letter.receiver) == (None, None)
    text = handout_from_letter(letter, "en").text()
    assert "Phone:" not in text and "Clinic: Summit Occupational Health." in text


def test_a_bundle_without_a_service_request_has_no_letter() -> None:
    task_only = {"entry": [{"fullUrl": "urn:uuid:t", "resource": {"resourceType": "Task"}}]}
    assert letter_from_transaction(task_only) is None
    assert letter_from_transaction({}) is None
