"""appContext built within bounds for the card and read back defensively; the card's summary and detail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from fhir_mappings.domain import ConditionSummary, PatientSummary, Requester
from fhir_mappings.rules import MAX_QUESTIONS, QUESTION_BY_TOPIC
from fhir_mappings.stuck_case import CaseFacts, Finding, Verdict
from smart_app.cds.app_context import (
    SOURCE,
    app_context_from_suggestion,
    suggested_form,
    suggestion_from_app_context,
)
from smart_app.cds.cards import MAX_SUMMARY, stuck_case_card
from smart_app.chart.reader import Chart
from smart_app.referrals.form import ComposeForm
from smart_app.smart.token import MAX_APP_CONTEXT_CHARS, token_response_from_json

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def context(**doc: object) -> str:
    return json.dumps({"source": SOURCE, **doc})


def test_the_app_context_round_trips() -> None:
    text = app_context_from_suggestion(["Condition/c1"], [QUESTION_BY_TOPIC["Diagnosis"]])
    found = suggestion_from_app_context(text)
    assert (
        found is not None
        and found.reasons == ("Condition/c1",)
        and found.questions == (QUESTION_BY_TOPIC["Diagnosis"],)
    )


def test_a_huge_suggestion_is_cut_to_fit_what_the_app_accepts() -> None:
    text = app_context_from_suggestion([f"Condition/c{n}" for n in range(5000)], ["Q?"] * 50)
    assert len(text) <= MAX_APP_CONTEXT_CHARS and len(json.loads(text)["questions"]) == MAX_QUESTIONS


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "not json",
        "[1, 2]",
        json.dumps({"source": "someone-else", "questions": ["Q?"]}),
        "x" * (MAX_APP_CONTEXT_CHARS + 1),
    ],
)
def test_anything_else_is_no_suggestion(value: object) -> None:
    assert suggestion_from_app_context(value) is None


def test_bad_items_are_dropped_one_by_one() -> None:
    found = suggestion_from_app_context(
        context(
            reasons=["Condition/ok", "Patient/p", "Condition/../x", 7, "Condition/ok"],
            questions=["  Is the plan right?  ", "", "   ", "bad\u0007char", "x" * 1001, None, *["Q?"] * 30],
        )
    )
    assert found is not None and found.reasons == ("Condition/ok",)
    assert found.questions[0] == "Is the plan right?" and len(found.questions) == MAX_QUESTIONS


def chart(*references: str) -> Chart:
    return Chart(
        patient=PatientSummary("Patient/p", "P"),
        coverage=None,
        requester=Requester("Practitioner/a"),
        physicians=(),
        clinics={},
        conditions=tuple(ConditionSummary(r, "Injury", "active") for r in references),
    )


def test_the_form_keeps_only_the_charts_own_conditions() -> None:
    form = ComposeForm(referral_id="0" * 32, patient="Patient/p")
    filled, suggested = suggested_form(
        form,
        chart("Condition/c1"),
        {"appContext": context(reasons=["Condition/c1", "Condition/other"], questions=["Q1?"])},
    )
    assert suggested and filled.reasons == ["Condition/c1"] and filled.questions == ["Q1?"]
    assert suggested_form(form, chart("Condition/c1"), {}) == (form, False)
    empty = {"appContext": context(reasons=["Condition/other"], questions=[])}
    assert suggested_form(form, chart("Condition/c1"), empty) == (form, False)


@pytest.mark.parametrize(
    ("value", "kept"),
    [('{"a":1}', True), (7, False), ("", False), ("x" * (MAX_APP_CONTEXT_CHARS + 1), False)],
)
def test_the_token_response_keeps_app_context_only_as_a_bounded_string(value: object, kept: bool) -> None:
    token = token_response_from_json({"access_token": "t", "token_type": "bearer", "appContext": value}, NOW)
    assert ("appContext" in token.context) is kept


def test_the_summary_stays_under_140_characters_and_names_the_first_findings() -> None:
    facts = CaseFacts((), True, date(2026, 1, 1), (), (), (), None, False, None)
    findings = tuple(
        Finding("same-restrictions", "x" * 60 + str(n), "evidence", QUESTION_BY_TOPIC["Work restrictions"])
        for n in range(4)
    )
    card = stuck_case_card(Verdict(facts, findings), "https://app", "https://ns", ("u1", "u2"))
    assert card["summary"].startswith("Consider a second opinion: ") and len(card["summary"]) <= MAX_SUMMARY
    assert "x" * 60 + "0" in card["summary"] and "x" * 60 + "1" not in card["summary"]


def test_ehr_text_in_the_evidence_cannot_become_markdown() -> None:
    facts = CaseFacts((), True, date(2026, 1, 1), (), (), (), None, False, None)
    finding = Finding(
        "same-restrictions", "s", 'The same work restrictions ("[x](https://a) **b** <i>")', "Q?"
    )
    detail = stuck_case_card(Verdict(facts, (finding,)), "https://app", "https://ns", ("u1", "u2"))["detail"]
    assert r"\[x\](https://a) \*\*b\*\* \<i\>" in detail
