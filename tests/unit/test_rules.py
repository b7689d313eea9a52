"""Domain rules (docs/domain-rules.md): questions, related clinics, the IME guard."""

import pytest

from fhir_mappings.domain import Clinic, Physician, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.ime_guard import guard_notes
from fhir_mappings.rules import (
    IME_DIFFERENCE,
    QUESTION_TEMPLATE_TOPICS,
    QUESTION_TEMPLATES,
    ime_warnings,
    related_clinic_reason,
    validate_questions,
)


def test_at_least_eight_templates_cover_what_a_workers_comp_atp_asks() -> None:
    topics = dict(QUESTION_TEMPLATE_TOPICS)
    assert len(QUESTION_TEMPLATES) >= 8 and len(topics) == len(QUESTION_TEMPLATES)
    for topic, word in [
        ("Diagnosis", "diagnosis"), ("Causation and work-relatedness", "related to the work"),
        ("Surgery or injections", "candidate for surgery or for injections"),
        ("Further diagnostic tests", "diagnostic tests"), ("Maintenance care after MMI", "maintenance care"),
        ("Return to work and prognosis", "prognosis"), ("Medications", "medications"),
        ("Treatment plan", "treatment plan"), ("MMI", "(MMI)"), ("Work restrictions", "work restrictions"),
    ]:
        assert word in topics[topic]


def test_templates_raise_no_ime_warning() -> None:
    assert ime_warnings(QUESTION_TEMPLATES) == ()
    assert guard_notes(QUESTION_TEMPLATES, requester_level_ii=True) == ()


def test_validate_questions_strips_drops_blanks_and_keeps_order() -> None:
    assert validate_questions(["  B?  ", "", "   ", "A?"]) == ("B?", "A?")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "at least one"),
        (["  ", "\n"], "at least one"),
        (["q"] * 21, "at most 20 questions (you asked 21)"),
        (["ok", "x" * 2001], "Question 2 is too long"),
    ],
)
def test_validate_questions_refuses(raw: list[str], message: str) -> None:
    with pytest.raises(ReferralRuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_questions(raw)


def test_validate_questions_limits_are_inclusive() -> None:
    assert len(validate_questions(["q"] * 20)) == 20
    assert validate_questions(["x" * 1000]) == ("x" * 1000,)
    with pytest.raises(ReferralRuleError, match="too long"):
        validate_questions(["x" * 1001])


SYSTEM = Clinic("Organization/system", "Front Range Health")
ATP_CLINIC = Clinic("Organization/atp", "Downtown Clinic", part_of="Organization/system")
SISTER = Clinic("Organization/sister", "Uptown Clinic", part_of="Organization/system")
CHILD = Clinic("Organization/child", "Downtown Annex", part_of="Organization/atp")
OTHER = Clinic("Organization/other", "Mesa Occ Med", identifiers=("urn:tin|99",))
CLINICS = {c.reference: c for c in (SYSTEM, ATP_CLINIC, SISTER, CHILD, OTHER)}
REQUESTER = Requester("Practitioner/atp", "Dr. A", organization=ATP_CLINIC)


def _physician(clinic: Clinic | None) -> Physician:
    return Physician("PractitionerRole/r", "Practitioner/p", "Dr. Ana Ruiz, MD", clinic=clinic)


@pytest.mark.parametrize(
    ("clinic", "reason"),
    [
        (ATP_CLINIC, "Dr. Ana Ruiz, MD works at Downtown Clinic, your own organization."),
        (CHILD, "Downtown Annex, where Dr. Ana Ruiz, MD works, is part of Downtown Clinic."),
        (SYSTEM, "Your organization, Downtown Clinic, is part of Front Range Health."),
        (
            SISTER,
            "Uptown Clinic and your organization, Downtown Clinic, both belong to Front Range",
        ),
    ],
)
def test_related_clinics_are_explained(clinic: Clinic, reason: str) -> None:
    explanation = related_clinic_reason(REQUESTER, _physician(clinic), CLINICS)
    assert explanation is not None
    assert explanation.startswith(reason)
    assert explanation.endswith("please choose another physician.")


def test_grandchild_clinic_is_related() -> None:
    grandchild = Clinic("Organization/gc", "Annex Lab", part_of="Organization/child")
    clinics = {**CLINICS, grandchild.reference: grandchild}
    assert related_clinic_reason(REQUESTER, _physician(grandchild), clinics) is not None


def test_unrelated_clinic() -> None:
    assert related_clinic_reason(REQUESTER, _physician(OTHER), CLINICS) is None


def test_missing_organizations_are_not_related() -> None:
    assert related_clinic_reason(REQUESTER, _physician(None), CLINICS) is None
    assert related_clinic_reason(Requester("Practitioner/x"), _physician(OTHER), CLINICS) is None


def test_shared_identifier_is_related() -> None:
    twin = Clinic("Organization/twin", "Mesa OM (billing)", identifiers=("urn:tin|99",))
    requester = Requester("Practitioner/atp", organization=twin)
    reason = related_clinic_reason(requester, _physician(OTHER), {})
    assert reason is not None
    assert "shares an identifier (urn:tin|99)" in reason


def test_part_of_cycle_terminates() -> None:
    a = Clinic("Organization/a", "A", part_of="Organization/b")
    b = Clinic("Organization/b", "B", part_of="Organization/a")
    c = Clinic("Organization/c", "C", part_of="Organization/c")
    clinics = {x.reference: x for x in (a, b, c, OTHER)}
    requester = Requester("Practitioner/atp", organization=a)
    assert related_clinic_reason(requester, _physician(OTHER), clinics) is None
    assert related_clinic_reason(requester, _physician(c), clinics) is None
    assert related_clinic_reason(requester, _physician(b), clinics) is not None


def test_clinics_mapping_completes_the_physicians_clinic() -> None:
    bare = Clinic("Organization/child", "Downtown Annex")  # as built without its partOf
    assert related_clinic_reason(REQUESTER, _physician(bare), CLINICS) is not None


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("The insurer disputes her whole person impairment rating: what is it?",
         "A rating the parties dispute"),
        ("Should we request a DIME?", "A DIME is ordered"),
        ("The insurer's IME says MMI was reached; do you agree?", "An IME is requested"),
        ("The adjuster disputes MMI: has she reached MMI?", "A dispute about MMI"),
        ("The parties disagree on maximum medical improvement.", "A dispute about MMI"),
        ("Is the back injury work related, for the hearing next month?", "An opinion on causation"),
        ("Please address causation for the pending litigation.", "An opinion on causation"),
        ("Please prepare for your deposition on the shoulder.", "A question for a hearing, a deposition"),
        ("Her attorney asks whether she can return to work.", "A question for a hearing, a deposition"),
        ("What should I tell the ALJ at the hearing?", "A question for a hearing, a deposition"),
    ],
)
def test_ime_matters_are_warned_naming_the_question(question: str, topic: str) -> None:
    warnings = ime_warnings(["Is the diagnosis correct?", question])
    excerpt = " ".join(question.split()[:8])
    assert any(w.startswith(f"Question 2 (“{excerpt}") and topic in w for w in warnings)
    assert warnings[-1] == IME_DIFFERENCE
    assert all("Question 1 " not in warning for warning in warnings)
    assert all("You might ask" in warning for warning in warnings[:-1])
    assert "insurer, the employer or an attorney" in IME_DIFFERENCE
    assert "you keep the patient's care" in IME_DIFFERENCE


RATING = "At MMI, what is her whole person impairment rating, with apportionment to the prior injury?"


def test_a_rating_asked_by_an_atp_who_is_not_level_ii_fits_a_second_opinion() -> None:
    [note] = guard_notes([RATING], requester_level_ii=False, physician_level_ii=True)
    assert not note.ime and note.question == 1
    assert "Rule 12-2(A)" in note.text and "fits a second opinion: it is not an IME" in note.text
    assert ime_warnings([RATING]) == ()  # not discouraged


def test_a_rating_from_a_physician_who_is_not_level_ii_says_to_choose_one_who_is() -> None:
    [note] = guard_notes([RATING], requester_level_ii=False, physician_level_ii=False)
    assert not note.ime and "Rule 13-1(A)(2)" in note.text and "choose one who is" in note.text


def test_a_level_ii_atp_asking_another_physician_to_rate_reads_like_an_ime() -> None:
    [note] = guard_notes([RATING], requester_level_ii=True, physician_level_ii=True)
    assert note.ime and "the rating is yours to give" in note.text and "You might ask instead" in note.text


def test_when_the_atp_level_is_unknown_the_note_explains_both_cases() -> None:
    [note] = guard_notes(["", RATING])
    assert (note.question, note.ime) == (2, False)
    assert "If you are not Level II accredited" in note.text and "DIME" in note.text


@pytest.mark.parametrize(
    "question",
    [
        "Has the patient reached MMI? If not, what treatment and when?",
        "Is an MRI of the knee needed?",
        "What time should she return to full duty?",
        "Is the pain rating of 7/10 consistent with the exam?",
        "Are the hearing loss findings work related?",
        "Is a ten cent dime-sized lesion relevant?",
        "Does she need hearing aids after the blast?",
        "Is the hearing test consistent with noise exposure at work?",
        "Should she continue counseling for the anxiety?",
    ],
)
def test_ordinary_questions_are_not_warned(question: str) -> None:
    assert ime_warnings([question]) == ()
    assert guard_notes([question], requester_level_ii=True) == ()
