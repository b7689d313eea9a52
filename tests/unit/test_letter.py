"""The referral letter and the worker's handout, built from the ServiceRequest we write."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import textstat  # type: ignore[import-untyped]  # ships no type hints

from fhir_mappings.codes import SCOPE_STATEMENT
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    CoverageSummary,
    Modality,
    PatientSummary,
    Physician,
    Referral,
    Requester,
)
from fhir_mappings.handout import LANGUAGES, handout_from_letter, handout_from_service_request
from fhir_mappings.letter import Letter, letter_from_service_request
from fhir_mappings.service_request import service_request_from_referral

NS = "https://so.example.org/fhir"
COVERAGE = CoverageSummary("Coverage/wc-1-cov-1", is_workers_comp=True, claim_number="WC-2026-0417",
                           insurer="Pinnacol Assurance", employer="Front Range Builders",
                           status="active")
REFERRAL = Referral(
    id="0123456789abcdef0123456789abcdef",
    patient=PatientSummary("Patient/wc-1", "Rosa Quintana"),
    requester=Requester("Practitioner/atp-1", "Dr. Casey Atwood, MD"),
    physician=Physician("PractitionerRole/so-1", "Practitioner/so-1-prac", "Dr. Morgan Avery, MD",
                        occupational_medicine=True,
                        clinic=Clinic("Organization/org-summit", "Summit Occupational Health")),
    modality="telehealth",
    questions=("Is the diagnosis of lumbar strain correct?", "Is she at MMI?"),
    authored_on=datetime(2026, 11, 20, 16, 5, tzinfo=UTC),
    reasons=(ConditionSummary("Condition/wc-1-cond-1", "Lumbar strain"),
             ConditionSummary("Condition/wc-1-cond-2", "Sprain of right knee")),
    coverage=COVERAGE,
)
RESOURCE = service_request_from_referral(REFERRAL, NS)
EXPECTED = Letter(
    referral_id="0123456789abcdef0123456789abcdef",
    authored="2026-11-20",
    patient="Rosa Quintana",
    requester="Dr. Casey Atwood, MD",
    physician="Dr. Morgan Avery, MD",
    clinic="Summit Occupational Health",
    modality="telehealth",
    visit_type="Telehealth",
    scope=SCOPE_STATEMENT,
    questions=("Is the diagnosis of lumbar strain correct?", "Is she at MMI?"),
    reasons=("Lumbar strain", "Sprain of right knee"),
    claim="WC-2026-0417",
    insurer="Pinnacol Assurance",
    employer="Front Range Builders",
)


def test_the_letter_holds_exactly_what_the_service_request_and_claim_say() -> None:
    assert letter_from_service_request(RESOURCE, COVERAGE) == EXPECTED


def test_a_coverage_the_service_request_does_not_name_is_left_out() -> None:
    other = replace(COVERAGE, reference="Coverage/someone-else")
    letter = letter_from_service_request(RESOURCE, other)
    assert (letter.claim, letter.insurer, letter.employer) == (None, None, None)


def test_a_bare_service_request_still_gives_a_letter() -> None:
    letter = letter_from_service_request({"resourceType": "ServiceRequest"})
    assert letter == Letter(None, None, None, None, None, None, None, None, SCOPE_STATEMENT, (), ())


def test_the_english_handout_names_the_people_the_visit_and_the_claim() -> None:
    handout = handout_from_service_request(RESOURCE, "en", COVERAGE)
    assert handout.title == "Your second-opinion visit"
    assert [s.heading for s in handout.sections] == [
        "Why a second opinion?", "This is not an IME", "Your doctor stays in charge",
        "What kind of visit", "Who and where", "What to bring", "What happens next"]
    by_heading = {s.heading: s for s in handout.sections}
    assert by_heading["What kind of visit"].sentences == (
        "You will talk with the doctor on a video call.", "You can use a phone or a computer.")
    assert by_heading["Who and where"].sentences[:2] == (
        "Doctor: Dr. Morgan Avery, MD.", "Clinic: Summit Occupational Health.")
    assert by_heading["What to bring"].items[-2:] == (
        "Your claim number: WC-2026-0417", "Your referral number: 04HM-ASW9")  # read out on the phone
    assert "Dr. Casey Atwood, MD is still your doctor for this injury." in handout.text()


def test_the_spanish_handout_says_the_same_in_spanish() -> None:
    handout = handout_from_service_request(RESOURCE, "es", COVERAGE)
    assert handout.title == "Su cita para una segunda opinión"
    assert "Esta cita no es un IME." in handout.text()
    assert "Médico: Dr. Morgan Avery, MD." in handout.text()
    assert "Su número de reclamo: WC-2026-0417." in handout.text()


def test_without_names_the_handout_still_reads_as_sentences() -> None:
    handout = handout_from_letter(letter_from_service_request({}), "en")
    assert "Your doctor asked another doctor to look at your work injury." in handout.text()
    assert "Keep going to your visits with your doctor." in handout.text()


@pytest.mark.parametrize("modality", ["in-person", "telehealth", "record-review"])
def test_the_english_handout_reads_at_about_grade_six(modality: Modality) -> None:
    resource = service_request_from_referral(replace(REFERRAL, modality=modality), NS)
    text = handout_from_service_request(resource, "en", COVERAGE).text()
    textstat.set_lang("en")
    assert textstat.flesch_kincaid_grade(text) <= 6.5


@pytest.mark.parametrize("modality", ["in-person", "telehealth", "record-review"])
def test_the_spanish_handout_is_plain_spanish(modality: Modality) -> None:
    resource = service_request_from_referral(replace(REFERRAL, modality=modality), NS)
    text = handout_from_service_request(resource, "es", COVERAGE).text()
    textstat.set_lang("es")
    # Fernández Huerta: 70-80 "fairly easy" (7th grade), 80-90 "easy" (6th), 90+ "very easy"
    assert textstat.fernandez_huerta(text) >= 80
    textstat.set_lang("en")


def test_both_languages_exist() -> None:
    assert LANGUAGES == ("en", "es")


def test_a_record_review_needs_no_appointment() -> None:
    resource = service_request_from_referral(replace(REFERRAL, modality="record-review"), NS)
    by_heading = {s.heading: s for s in handout_from_service_request(resource, "en").sections}
    assert by_heading["Who and where"].sentences[-1] == "The clinic may call you with a question."
    assert by_heading["What to bring"].items == (
        "Nothing: Dr. Casey Atwood, MD will send your records", "Your referral number: 04HM-ASW9")
