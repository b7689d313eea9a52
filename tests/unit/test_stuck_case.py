"""The stuck-case rules on synthetic charts (plain dicts): each rule, each gate, and the IME draft orders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from fhir_mappings.ime_order import ime_orders_from_draft_orders
from fhir_mappings.rules import QUESTION_BY_TOPIC
from fhir_mappings.stuck_case import (
    StuckThresholds,
    Verdict,
    case_facts_from_resources,
    date_from_fhir,
    stuck_case_verdict,
)

NS = "https://so.example.org/fhir"
PROGRESS = f"{NS}/CodeSystem/work-injury-progress"
TODAY = date(2026, 12, 1)
THRESHOLDS = StuckThresholds()


def ago(weeks: int) -> str:
    return (TODAY - timedelta(weeks=weeks)).isoformat()


def condition(onset: str, status: str = "active", cid: str = "c1") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": {"text": "Strain of lower back"},
        "clinicalStatus": {"coding": [{"code": status}]},
        "onsetDateTime": onset,
    }


def coverage(workers_comp: bool = True, status: str = "active") -> dict[str, Any]:
    code = (
        {"system": "https://nahdo.org/sopt", "code": "95"}
        if workers_comp
        else {"system": "https://nahdo.org/sopt", "code": "5"}
    )
    return {"resourceType": "Coverage", "id": "cov", "status": status, "type": {"coding": [code]}}


def encounter(on: str, status: str = "finished") -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"e{on}",
        "status": status,
        "period": {"start": f"{on}T09:00:00-07:00"},
    }


def observation(code: str, on: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{code}{on}",
        "status": "final",
        "code": {"coding": [{"system": PROGRESS, "code": code}]},
        "effectiveDateTime": on,
        **value,
    }


def score(on: str, value: float) -> dict[str, Any]:
    return observation("function-score", on, valueQuantity={"value": value})


def restriction(on: str, text: str) -> dict[str, Any]:
    return observation("work-restrictions", on, valueString=text)


def second_opinion(status: str, updated: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": "sr",
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": f"{NS}/CodeSystem/second-opinion", "code": "second-opinion"}]},
        "authoredOn": ago(30),
    }
    if updated:
        resource["meta"] = {"lastUpdated": f"{updated}T10:00:00Z"}
    return resource


def chart(**kinds: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    base: dict[str, list[dict[str, Any]]] = {
        "conditions": [condition(ago(10))],
        "coverages": [coverage()],
        "encounters": [],
        "observations": [],
        "service_requests": [],
    }
    return {**base, **kinds}


def verdict(resources: dict[str, list[dict[str, Any]]], thresholds: StuckThresholds = THRESHOLDS) -> Verdict:
    return stuck_case_verdict(case_facts_from_resources(resources, NS), thresholds, TODAY)


def rules(resources: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [finding.rule for finding in verdict(resources).findings]


def test_a_recent_injury_with_nothing_else_is_not_stuck() -> None:
    result = verdict(chart())
    assert not result.stuck and result.blocked is None and result.findings == ()


def test_no_mmi_past_the_expected_time_is_a_finding_with_dates_and_counts() -> None:
    resources = chart(
        conditions=[condition(ago(30)), condition(ago(28), cid="c2")],
        encounters=[encounter(ago(w)) for w in (29, 20, 10, 2)] + [encounter(ago(40))],
    )
    result = verdict(resources)
    assert result.stuck and rules(resources) == ["no-mmi-past-expected"]
    finding = result.findings[0]
    assert f"Injured {ago(30)}" in finding.evidence and "30 weeks ago" in finding.evidence
    # the visit before the injury is not counted
    assert "4 visits since, the last on " + ago(2) in finding.evidence
    assert "2 active conditions" in finding.evidence and "within 26 weeks" in finding.evidence
    assert finding.question == QUESTION_BY_TOPIC["MMI"]


def test_the_expected_time_is_a_threshold() -> None:
    resources = chart(conditions=[condition(ago(13))])
    assert verdict(resources).findings == ()
    assert verdict(resources, StuckThresholds(weeks_without_mmi=12)).stuck


def test_resolved_conditions_do_not_date_the_injury() -> None:
    resources = chart(conditions=[condition(ago(60), status="resolved"), condition(ago(8), cid="c2")])
    assert rules(resources) == []


def test_the_same_work_restrictions_for_many_weeks_is_a_finding() -> None:
    same = "No lifting over 20 lb; no  repeated bending"
    resources = chart(
        observations=[
            restriction(ago(12), "Off work"),
            restriction(ago(8), same),
            restriction(ago(5), same.upper()),
            restriction(ago(1), same),
        ]
    )
    result = verdict(resources)
    assert rules(resources) == ["same-restrictions"]
    assert f"at 3 visits from {ago(8)} to {ago(1)} (7 weeks)" in result.findings[0].evidence
    assert result.findings[0].question == QUESTION_BY_TOPIC["Work restrictions"]


def test_restrictions_that_change_are_not_stuck() -> None:
    texts = ((9, "Off work"), (6, "Light duty"), (3, "Light duty, 6 hours"), (1, "Full duty"))
    resources = chart(observations=[restriction(ago(weeks), text) for weeks, text in texts])
    assert rules(resources) == []


def test_no_functional_gain_across_the_last_scored_visits_is_a_finding() -> None:
    resources = chart(observations=[score(ago(w), v) for w, v in ((9, 20), (6, 41), (3, 44), (1, 45))])
    result = verdict(resources)
    assert rules(resources) == ["no-functional-gain"]  # 41 → 45 over the last 3: +4
    expected = f"Function score 41 on {ago(6)} and 45 on {ago(1)} across 3 scored visits"
    assert expected in result.findings[0].evidence
    assert "+4 points" in result.findings[0].evidence


def test_functional_gain_is_progress() -> None:
    resources = chart(observations=[score(ago(6), 30), score(ago(3), 38), score(ago(1), 52)])
    assert rules(resources) == []


def test_too_few_scores_and_nonsense_values_are_not_evidence() -> None:
    resources = chart(
        observations=[
            score(ago(3), 40),
            score(ago(1), 40),
            score(ago(2), 400),
            observation("function-score", ago(2), valueString="40"),
        ]
    )
    assert rules(resources) == []


@pytest.mark.parametrize(
    ("kinds", "blocked"),
    [
        ({"coverages": []}, "no-workers-comp"),
        ({"coverages": [coverage(workers_comp=False)]}, "no-workers-comp"),
        ({"coverages": [coverage(status="cancelled")]}, "no-workers-comp"),
        ({"observations": [observation("mmi", ago(1), valueBoolean=True)]}, "mmi-recorded"),
        ({"observations": [observation("mmi", ago(1), valueDateTime=ago(2))]}, "mmi-recorded"),
        ({"service_requests": [second_opinion("active")]}, "opinion-open"),
        ({"service_requests": [second_opinion("draft")]}, "opinion-open"),
        ({"service_requests": [second_opinion("completed", updated=ago(4))]}, "opinion-recent"),
        ({"conditions": []}, "no-injury-date"),
    ],
)
def test_never_a_suggestion_past_a_gate(kinds: dict[str, list[dict[str, Any]]], blocked: str) -> None:
    stuck = chart(conditions=[condition(ago(40))], **{k: v for k, v in kinds.items() if k != "conditions"})
    if "conditions" in kinds:
        stuck["conditions"] = kinds["conditions"]
    result = verdict(stuck)
    assert result.blocked == blocked and not result.stuck


def test_an_old_answer_a_revoked_request_or_other_orders_do_not_block() -> None:
    other = {**second_opinion("active"), "code": {"text": "Physical therapy"}}
    resources = chart(
        conditions=[condition(ago(40))],
        service_requests=[second_opinion("completed", updated=ago(40)), second_opinion("revoked"), other],
        observations=[
            observation("mmi", ago(1), valueBoolean=False),
            {**observation("mmi", ago(1), valueBoolean=True), "status": "entered-in-error"},
        ],
    )
    assert verdict(resources).stuck


def test_every_finding_adds_its_question_after_the_diagnosis() -> None:
    same = "Sedentary work only"
    resources = chart(
        conditions=[condition(ago(30))],
        observations=[
            restriction(ago(9), same),
            restriction(ago(1), same),
            score(ago(6), 40),
            score(ago(3), 40),
            score(ago(1), 41),
        ],
    )
    result = verdict(resources)
    assert [f.rule for f in result.findings] == [
        "no-mmi-past-expected",
        "same-restrictions",
        "no-functional-gain",
    ]
    assert result.questions == (
        QUESTION_BY_TOPIC["Diagnosis"],
        QUESTION_BY_TOPIC["MMI"],
        QUESTION_BY_TOPIC["Work restrictions"],
        QUESTION_BY_TOPIC["Treatment plan"],
    )


def test_dates_are_read_liberally() -> None:
    assert date_from_fhir("2026-02-10T09:00:00-07:00") == date(2026, 2, 10)
    assert date_from_fhir("2026-02") is None and date_from_fhir(20260210) is None
    assert date_from_fhir("2026-13-40") is None


def draft(rid: str, text: str) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "ServiceRequest",
            "id": rid,
            "status": "draft",
            "intent": "order",
            "code": {"text": text},
        }
    }


def test_selected_draft_orders_for_an_ime_or_a_dime_are_found() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            draft("a", "Independent medical examination"),
            draft("b", "DIME request"),
            draft("c", "Physical therapy"),
            draft("d", "IME (not selected)"),
            {"resource": {"resourceType": "MedicationRequest", "id": "m"}},
            draft("bad id!", "IME"),
        ],
    }
    found = ime_orders_from_draft_orders(
        bundle, ["ServiceRequest/a", "ServiceRequest/b", "ServiceRequest/c", "MedicationRequest/m"]
    )
    assert [(o.reference, o.kind) for o in found] == [
        ("ServiceRequest/a", "IME"),
        ("ServiceRequest/b", "DIME"),
    ]
    assert ime_orders_from_draft_orders("not a bundle", ["ServiceRequest/a"]) == []
    assert ime_orders_from_draft_orders(bundle, ["ServiceRequest/c"]) == []


def test_the_claims_date_of_injury_dates_the_case_as_in_the_composer() -> None:
    claim = {**coverage(), "period": {"start": ago(40)}}
    found = verdict(chart(conditions=[condition(ago(10))], coverages=[claim]))
    [finding] = [f for f in found.findings if f.rule == "no-mmi-past-expected"]
    assert f"Injured {ago(40)} (the claim's date of injury)" in finding.evidence
    assert "no-mmi-past-expected" not in rules(chart(conditions=[condition(ago(10))]))  # onset alone: recent
