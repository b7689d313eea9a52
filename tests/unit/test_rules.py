"""Domain rules (docs/domain-rules.md): questions, related clinics, the IME guard."""

import pytest

from fhir_mappings.domain import Clinic, Physician, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import (
    IME_DIFFERENCE,
    QUESTION_TEMPLATES,
    ime_warnings,
    related_clinic_reason,
    validate_questions,
)


def test_templates_cover_diagnosis_treatment_mmi_and_restrictions() -> None:
    assert len(QUESTION_TEMPLATES) == 4
    for word, template in zip(
        ("diagnosis", "treatment plan", "MMI", "work restrictions"), QUESTION_TEMPLATES, strict=True
    ):
        assert word in template


def test_templates_raise_no_ime_warning() -> None:
    assert ime_warnings(QUESTION_TEMPLATES) == ()


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
        ("What is her whole person impairment rating?", "Rating permanent impairment"),
        ("How should impairment be apportioned to the prior injury?", "Apportionment"),
        ("Should we request a DIME?", "A DIME is ordered"),
        ("The insurer's IME says MMI was reached; do you agree?", "An IME is requested"),
        ("The adjuster disputes MMI: has she reached MMI?", "A dispute about MMI"),
        ("The parties disagree on maximum medical improvement.", "A dispute about MMI"),
        ("Is the back injury work related, for the hearing next month?", "An opinion on causation"),
        ("Please address causation for the pending litigation.", "An opinion on causation"),
    ],
)
def test_ime_matters_are_warned(question: str, topic: str) -> None:
    warnings = ime_warnings(["Is the diagnosis correct?", question])
    assert any(warning.startswith(topic) for warning in warnings)
    assert warnings[-1] == IME_DIFFERENCE
    assert all("You might ask instead:" in warning for warning in warnings[:-1])
    assert "insurer, the employer or an attorney" in IME_DIFFERENCE
    assert "you keep the patient's care" in IME_DIFFERENCE


@pytest.mark.parametrize(
    "question",
    [
        "Has the patient reached MMI? If not, what treatment and when?",
        "Is an MRI of the knee needed?",
        "What time should she return to full duty?",
        "Is the pain rating of 7/10 consistent with the exam?",
        "Are the hearing loss findings work related?",
        "Is a ten cent dime-sized lesion relevant?",
    ],
)
def test_ordinary_questions_are_not_warned(question: str) -> None:
    assert ime_warnings([question]) == ()
