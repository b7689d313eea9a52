"""The referral letter and the worker's handout, built from the ServiceRequest we write."""

from dataclasses import asdict, replace
from datetime import UTC, date, datetime

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
    RecordSummary,
    Referral,
    Requester,
)
from fhir_mappings.handout import LANGUAGES, handout_from_letter, handout_from_service_request, long_date
from fhir_mappings.letter import (
    Contact,
    Letter,
    LetterContext,
    contact_from_mapping,
    letter_from_service_request,
    receiver_from_physician,
    sender_from_requester,
)
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
    authored_at="2026-11-20T16:05:00Z",
)
ATP_CLINIC = Clinic("Organization/org-atp", "Front Range Occupational Health",
                    address="1450 Larimer Street, Suite 300, Denver, CO 80202", phone="303-555-0140",
                    fax="303-555-0141")
SUMMIT = Clinic("Organization/org-summit", "Summit Occupational Health",
                address="2201 East Colfax Avenue, Denver, CO 80206", phone="303-555-0150")
ATP = Requester("Practitioner/atp-1", "Dr. Casey Atwood, MD", ATP_CLINIC, phone="303-555-0145",
                fax="303-555-0141")
CONTEXT = LetterContext(
    coverage=COVERAGE,
    birth_date="1984-03-12",
    onsets=("2025-12-01", "2025-11-03T08:00:00-07:00"),
    sender=sender_from_requester(ATP),
    receiver=receiver_from_physician(replace(REFERRAL.physician, clinic=SUMMIT)),
)
WIDE = replace(REFERRAL, modality="in-person", window=("2026-12-01", "2026-12-31"),
               due_by=date(2027, 1, 15),
               records=(RecordSummary("DocumentReference/d1", "DocumentReference", "Office visit note"),
                        RecordSummary("DiagnosticReport/r1", "DiagnosticReport", "MRI lumbar spine")))
WIDE_RESOURCE = service_request_from_referral(WIDE, NS)


def test_the_letter_holds_exactly_what_the_service_request_and_claim_say() -> None:
    assert letter_from_service_request(RESOURCE, COVERAGE) == EXPECTED


def test_a_coverage_the_service_request_does_not_name_is_left_out() -> None:
    other = replace(COVERAGE, reference="Coverage/someone-else")
    letter = letter_from_service_request(RESOURCE, other)
    assert (letter.claim, letter.insurer, letter.employer) == (None, None, None)


def test_a_bare_service_request_still_gives_a_letter() -> None:
    letter = letter_from_service_request({"resourceType": "ServiceRequest"})
    assert letter == Letter(None, None, None, None, None, None, None, None, SCOPE_STATEMENT, (), ())


def test_the_rest_of_the_referral_adds_birth_date_injury_contacts_window_records_and_due_date() -> None:
    letter = letter_from_service_request(WIDE_RESOURCE, context=CONTEXT)
    assert (letter.birth_date, letter.injury_date) == ("1984-03-12", "2025-11-03")  # the earliest onset
    assert letter.due_by == "2027-01-15"
    assert letter.window == ("2026-12-01", "2026-12-31")
    assert letter.records == ("Office visit note", "MRI lumbar spine")
    assert letter.sender == Contact("Front Range Occupational Health",
                                    "1450 Larimer Street, Suite 300, Denver, CO 80202", "303-555-0145",
                                    "303-555-0141")
    assert letter.receiver == Contact("Summit Occupational Health",
                                      "2201 East Colfax Avenue, Denver, CO 80206", "303-555-0150", None)


def test_the_claims_date_of_injury_comes_first_and_a_coverage_not_named_adds_nothing() -> None:
    dated = replace(CONTEXT, coverage=replace(COVERAGE, injury_date="2025-10-30"))
    assert letter_from_service_request(WIDE_RESOURCE, context=dated).injury_date == "2025-10-30"
    other = replace(CONTEXT, coverage=replace(COVERAGE, reference="Coverage/other", injury_date="2020-01-01"))
    letter = letter_from_service_request(WIDE_RESOURCE, context=other)
    assert (letter.claim, letter.injury_date) == (None, "2025-11-03")


def test_the_physicians_own_line_comes_before_the_clinics_and_kept_contacts_read_back() -> None:
    own = receiver_from_physician(replace(REFERRAL.physician, clinic=SUMMIT, phone="303-555-0159"))
    assert (own.phone, own.address) == ("303-555-0159", SUMMIT.address)
    assert contact_from_mapping(asdict(own)) == own
    assert contact_from_mapping({"phone": 5, "clinic": ["x"]}) is None  # read liberally: nothing usable
    assert contact_from_mapping(None) is None


def test_long_dates_in_both_languages() -> None:
    assert long_date("2027-01-15", "en") == "January 15, 2027"
    assert long_date("2027-01-15T10:00:00Z", "es") == "15 de enero de 2027"
    assert long_date("someday", "en") == "someday"


def test_the_handout_names_each_doctor_once_and_gives_where_and_when() -> None:
    letter = letter_from_service_request(WIDE_RESOURCE, context=CONTEXT)
    text = handout_from_letter(letter, "en").text()
    assert text.count("Dr. Casey Atwood") == 1 and text.count("Dr. Morgan Avery") == 1
    assert "Address: 2201 East Colfax Avenue, Denver, CO 80206." in text
    assert "Phone: 303-555-0150." in text
    assert "between December 1, 2026 and December 31, 2026." in text
    spanish = handout_from_letter(letter, "es").text()
    assert "entre el 1 de diciembre de 2026 y el 31 de diciembre de 2026." in spanish
    assert "Dirección: 2201 East Colfax Avenue" in spanish


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
    assert "Dr. Casey Atwood, MD, your doctor for this work injury, asked another doctor" in handout.text()
    assert "Your doctor is still in charge of your care for this injury." in handout.text()


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
        "Nothing: your doctor will send your records", "Your referral number: 04HM-ASW9")


@pytest.mark.parametrize("modality", ["in-person", "telehealth", "record-review"])
def test_with_address_phone_and_dates_the_handout_stays_plain(modality: Modality) -> None:
    resource = service_request_from_referral(replace(WIDE, modality=modality), NS)
    letter = letter_from_service_request(resource, context=CONTEXT)
    textstat.set_lang("en")
    assert textstat.flesch_kincaid_grade(handout_from_letter(letter, "en").text()) <= 6.5
    textstat.set_lang("es")
    assert textstat.fernandez_huerta(handout_from_letter(letter, "es").text()) >= 80
    textstat.set_lang("en")
