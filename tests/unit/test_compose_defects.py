"""The composer's defects found by a new user and an attacker: each has a test that failed before its fix."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime

import pytest
from werkzeug.datastructures import MultiDict

from fhir_mappings.condition import condition_summary_from_condition
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    PatientSummary,
    Physician,
    RecordSummary,
    Requester,
)
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import MAX_QUESTION_LENGTH, MAX_QUESTIONS, validate_questions
from fhir_mappings.service_request import service_request_from_referral
from smart_app.chart.reader import Chart
from smart_app.referrals.form import MAX_FORM_BYTES, ComposeForm, FormInvalid, referral_from_form

NS = "https://so.example.org/fhir"
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
CONDITIONS = tuple(
    ConditionSummary(f"Condition/c{n}", f"Condition {n}") for n in range(1, 4)
)
PHYSICIAN = Physician(
    "PractitionerRole/so-1",
    "Practitioner/so-1-prac",
    "Dr. Riley Chen, MD",
    occupational_medicine=True,
    accreditation="level-ii-full",
    clinic=Clinic("Organization/org-summit", "Summit Occupational Medicine"),
)
RECORD = RecordSummary("DocumentReference/d1", "DocumentReference", "Visit note", "2026-02-10")
CHART = Chart(
    patient=PatientSummary("Patient/wc-1", "Dana Whitfield"),
    conditions=CONDITIONS,
    coverage=None,
    requester=Requester(
        "Practitioner/atp-1", "Dr. Morgan Avery, MD", Clinic("Organization/org-atp", "FROH")
    ),
    physicians=(PHYSICIAN,),
    clinics={},
    records=(RECORD,),
)


def _form(**fields: object) -> MultiDict[str, str]:
    base: dict[str, object] = {
        "referral_id": "a" * 32,
        "patient": "Patient/wc-1",
        "reason": ["Condition/c1"],
        "question": ["Is the diagnosis correct?"],
        "modality": "record-review",
        "physician": "PractitionerRole/so-1",
        "record": ["DocumentReference/d1"],
    }
    base.update(fields)
    pairs = [
        (key, str(item))
        for key, value in base.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    return MultiDict(pairs)


def _errors(**fields: object) -> dict[str, str]:
    with pytest.raises(FormInvalid) as raised:
        referral_from_form(ComposeForm.from_form(_form(**fields)), CHART, NOW)
    return raised.value.errors


# Defect 1: 200 questions were cut to 20 before validation.
def test_two_hundred_questions_are_kept_and_refused_not_cut() -> None:
    questions = [f"Question number {n}?" for n in range(200)]
    form = ComposeForm.from_form(_form(question=questions))
    assert form.questions == questions
    assert "at most 20 questions (you asked 200)" in _errors(question=questions)["questions"]


# Defect 2: control characters in form text or EHR text.
@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f", "\ufffe"])
def test_control_characters_in_questions_are_refused(bad: str) -> None:
    with pytest.raises(ReferralRuleError, match="Question 1 contains a character"):
        validate_questions([f"Is the diagnosis{bad} correct?"])


def test_tab_and_newlines_are_allowed_in_questions() -> None:
    assert validate_questions(["Line one\r\n\tline two?"]) == ("Line one\r\n\tline two?",)


def test_control_characters_from_the_ehr_are_stripped() -> None:
    summary = condition_summary_from_condition(
        {"resourceType": "Condition", "id": "c1", "code": {"text": "Low\x00 back\x1b strain"}}
    )
    assert summary.text == "Low back strain"


def test_every_narrative_parses_as_xhtml_even_with_hostile_ehr_text() -> None:
    chart = Chart(**{**CHART.__dict__, "conditions": (ConditionSummary("Condition/c1", "A\x00<b>&"),)})
    referral = referral_from_form(ComposeForm.from_form(_form()), chart, NOW)
    div = service_request_from_referral(referral, NS)["text"]["div"]
    ElementTree.fromstring(div)


# Defect 3: invisible questions and repeated reasons.
@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200c\u2060", "\ufeff ", "\u00a0\u3000"])
def test_a_question_with_no_visible_character_is_not_a_question(invisible: str) -> None:
    with pytest.raises(ReferralRuleError, match="at least one specific question"):
        validate_questions([invisible])


def test_the_same_reason_posted_many_times_is_written_once() -> None:
    form = ComposeForm.from_form(_form(reason=["Condition/c1"] * 5000 + ["Condition/c2"]))
    referral = referral_from_form(form, CHART, NOW)
    assert [r.reference for r in referral.reasons] == ["Condition/c1", "Condition/c2"]


# Defect 4: the body limit must hold the largest valid form.
def test_the_largest_valid_form_fits_the_body_limit() -> None:
    from urllib.parse import urlencode

    cjk = "\u8a3a" * MAX_QUESTION_LENGTH
    body = urlencode(
        {
            "csrf_token": "x" * 64,
            "referral_id": "a" * 32,
            "patient": "Patient/" + "p" * 64,
            "question": [cjk] * MAX_QUESTIONS,
            "template": "t" * 200,
            "reason": ["Condition/" + "c" * 64] * 2000,
            "record": ["DocumentReference/" + "d" * 64] * 200,
        },
        doseq=True,
    ).encode()
    assert len(body) <= MAX_FORM_BYTES


def test_an_overlong_question_is_refused_with_its_text_kept() -> None:
    long = "\u8a3a" * (MAX_QUESTION_LENGTH + 1)
    form = ComposeForm.from_form(_form(question=[long]))
    assert form.questions == [long]
    assert "Question 1 is too long" in _errors(question=[long])["questions"]
