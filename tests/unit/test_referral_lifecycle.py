"""The referral's one lifecycle: every stage, its words and actions, overdue, the worker's step, filing."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fhir_mappings.domain import SignedOpinion
from fhir_mappings.referral_lifecycle import (
    ReferralFacts,
    ehr_outcome_from_task_status,
    history_text,
    lifecycle_from_facts,
    status_event,
    worker_step,
)
from fhir_mappings.task import TaskState, task_from_referral, task_state_from_task
from fhir_mappings.task_workflow import (
    accepted_task,
    cancelled_task,
    completed_task,
    on_hold_task,
    received_task,
    records_added_task,
    rejected_task,
    started_task,
)
from tests.unit.test_service_request import NS, REFERRAL
from tests.unit.test_task_workflow import CONCLUSION, PHYSICIAN

AT = "2026-12-06T19:05:00Z"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
VISIT = "2026-12-10T09:00:00-07:00"


def _requested(**changes: Any) -> dict[str, Any]:
    task = task_from_referral(REFERRAL, NS, focus="ServiceRequest/sr1", patient="Patient/p1",
                              authored_on="2026-12-01T09:30:00-07:00")  # fmt: skip
    return {**task, "id": "t1", **changes}


def _state(task: dict[str, Any]) -> TaskState:
    return task_state_from_task(task, NS)


def _facts(task: dict[str, Any] | None, **changes: Any) -> ReferralFacts:
    return ReferralFacts(outbox="sent", task=_state(task) if task else None, **changes)


def _accepted(visit: str | None = VISIT) -> dict[str, Any]:
    return accepted_task(received_task(_requested(), AT), AT, NS, visit=visit)


def _completed() -> dict[str, Any]:
    answers = tuple(f"Answer {n}" for n in range(1, len(REFERRAL.questions) + 1))
    opinion = SignedOpinion(answers, CONCLUSION, "DocumentReference/d9")
    return completed_task(started_task(_accepted(), AT), AT, opinion, NS)


def test_before_the_clinic_draft_sent_failed_delivered() -> None:
    assert lifecycle_from_facts(ReferralFacts(outbox=None), NOW).stage == "draft"
    sent = lifecycle_from_facts(ReferralFacts(outbox="pending", last_error="The clinic was busy."), NOW)
    assert (sent.stage, sent.actions) == ("sent", frozenset({"cancel"}))
    assert "The clinic was busy." in sent.detail and "tried again automatically" in sent.detail
    failed = lifecycle_from_facts(ReferralFacts(outbox="dead", last_error="Refused (HTTP 422)."), NOW)
    assert failed.stage == "failed" and failed.allows("try-again") and failed.allows("cancel")
    assert "Refused (HTTP 422)." in failed.detail
    assert lifecycle_from_facts(_facts(None), NOW).stage == "delivered"


def test_delivered_says_delivered_not_requested() -> None:
    """Defect: the status said "Requested" while the history said "Delivered to the receiving clinic"."""
    delivered = lifecycle_from_facts(_facts(_requested()), NOW)
    assert delivered.stage == "delivered" and delivered.headline == "Delivered to the receiving clinic"
    assert delivered.headline == history_text("delivered", None)


def test_received_accepted_with_its_visit_and_in_progress() -> None:
    assert lifecycle_from_facts(_facts(received_task(_requested(), AT)), NOW).stage == "received"
    accepted = lifecycle_from_facts(_facts(_accepted()), NOW)
    assert (accepted.stage, accepted.headline) == ("accepted", "Accepted")  # defect: never shown as accepted
    assert accepted.visit == datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    started = lifecycle_from_facts(_facts(started_task(_accepted(), AT)), NOW)
    assert started.stage == "accepted" and "writing the opinion" in started.detail
    assert lifecycle_from_facts(_facts(_accepted(visit=None)), NOW).visit is None


def test_on_hold_for_more_records_offers_to_add_them() -> None:
    held = on_hold_task(_accepted(), AT, "Please send the MRI report.", PHYSICIAN, NS)
    asked = lifecycle_from_facts(_facts(held), NOW)
    assert asked.stage == "on-hold" and asked.allows("add-records") and asked.allows("cancel")
    assert "Please send the MRI report." in asked.detail
    pending = lifecycle_from_facts(_facts(held, records_pending=True), NOW)
    assert pending.stage == "on-hold" and not pending.allows("add-records")
    other = _requested(status="on-hold", statusReason={"text": "Waiting for the insurer"})
    assert not lifecycle_from_facts(_facts(other), NOW).allows("add-records")
    resumed = records_added_task(held, AT, [("DocumentReference/x", "MRI report")], NS)
    assert lifecycle_from_facts(_facts(resumed), NOW).stage == "accepted"


def test_answered_then_filed() -> None:
    answered = lifecycle_from_facts(_facts(_completed(), filing="awaiting-launch"), NOW)
    assert answered.stage == "answered" and "next time you open Second Opinion" in answered.detail
    filed = lifecycle_from_facts(_facts(_completed(), filing="filed"), NOW)
    assert filed.stage == "filed" and "filed in the patient's chart" in filed.detail


def test_a_declined_referral_is_never_filed_and_offers_another_physician() -> None:
    """Defect: after a rejection the page said "The opinion is filed in the patient's chart"."""
    declined = rejected_task(received_task(_requested(), AT), AT, "outside-expertise", "Spine only.", NS)
    for filing in (None, "awaiting-launch", "filed"):
        shown = lifecycle_from_facts(_facts(declined, filing=filing), NOW)
        assert shown.stage == "declined" and shown.actions == frozenset({"reroute"})
        assert "filed" not in shown.detail and "filed" not in shown.headline
        assert "Outside my expertise: Spine only." in shown.detail
    assert ehr_outcome_from_task_status("rejected") == ehr_outcome_from_task_status("cancelled")
    outcome = ehr_outcome_from_task_status("rejected")
    assert outcome is not None and not outcome.document and outcome.service_request_status == "revoked"
    assert "filed" not in history_text(outcome.event, None)


def test_a_reason_without_a_code_and_a_code_without_its_words() -> None:
    plain = _requested(status="rejected", statusReason={"text": "Outside my scope"})
    assert "Reason: Outside my scope." in lifecycle_from_facts(_facts(plain), NOW).detail
    coded = _requested(status="rejected", statusReason={"coding": [
        {"system": f"{NS}/CodeSystem/decline-reason", "code": "unavailable"}]})
    assert "Reason: Not available." in lifecycle_from_facts(_facts(coded), NOW).detail


def test_rerouted_and_cancelled() -> None:
    declined = rejected_task(_requested(), AT, "unavailable", "", NS)
    rerouted = lifecycle_from_facts(_facts(declined, rerouted_to="7KQ2-M9XD"), NOW)
    assert rerouted.stage == "rerouted" and "7KQ2-M9XD" in rerouted.detail and not rerouted.actions
    asked = lifecycle_from_facts(_facts(_accepted(), cancel_reason="The worker returned to work."), NOW)
    assert asked.stage == "cancelled" and "tells the clinic." in asked.detail and not asked.actions
    done = lifecycle_from_facts(_facts(cancelled_task(_accepted(), AT, "x"), cancel_reason="x"), NOW)
    assert done.stage == "cancelled" and "tells the clinic" not in done.detail
    before = lifecycle_from_facts(ReferralFacts(outbox="pending", cancel_reason="Sent by mistake"), NOW)
    assert before.stage == "cancelled"
    raced = lifecycle_from_facts(_facts(_completed(), cancel_reason="Too late"), NOW)
    assert raced.stage == "answered"  # the physician signed before the clinic heard of the cancel
    cancelled_there = _requested(status="cancelled", statusReason={"text": "Dup"})
    elsewhere = lifecycle_from_facts(_facts(cancelled_there), NOW)
    assert elsewhere.stage == "cancelled" and "Dup" in elsewhere.detail


@pytest.mark.parametrize("task", [_requested(), received_task(_requested(), AT), _accepted(),
                                  on_hold_task(_accepted(), AT, "More please", PHYSICIAN, NS)])
def test_overdue_against_the_due_date(task: dict[str, Any]) -> None:
    due = {**task, "restriction": {"period": {"end": "2026-12-05T17:00:00-07:00"}}}
    before = lifecycle_from_facts(_facts(due), datetime(2026, 12, 5, 23, 59, tzinfo=UTC))
    assert before.stage != "overdue" and before.due == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    after = lifecycle_from_facts(_facts(due), NOW)
    assert after.stage == "overdue" and after.headline.startswith("Overdue: ")
    assert after.actions == before.actions
    closed = {**_completed(), "restriction": due["restriction"]}
    assert lifecycle_from_facts(_facts(closed), NOW).stage == "answered"  # an answer is never overdue


def test_a_due_date_without_time_counts_to_the_end_of_that_day_and_none_is_tolerated() -> None:
    due = {**_requested(), "restriction": {"period": {"end": "2026-12-07"}}}
    assert lifecycle_from_facts(_facts(due), NOW).stage == "delivered"
    assert lifecycle_from_facts(_facts(due), NOW + timedelta(days=1)).stage == "overdue"
    broken = {**_requested(), "restriction": {"period": {"end": "soon"}}}
    assert lifecycle_from_facts(_facts(broken), NOW).due is None


def test_the_workers_step() -> None:
    assert worker_step(ReferralFacts(outbox="pending")) == "deliver"
    assert worker_step(ReferralFacts(outbox="pending", cancel_reason="x")) == "drop"
    assert worker_step(_facts(_accepted(), cancel_reason="x")) == "cancel-task"
    assert worker_step(_facts(_completed(), cancel_reason="x")) == "follow"
    held = on_hold_task(_accepted(), AT, "More please", PHYSICIAN, NS)
    assert worker_step(_facts(held, records_pending=True)) == "send-records"
    assert worker_step(_facts(_accepted(), records_pending=True)) == "follow"
    assert worker_step(_facts(_accepted())) == "follow"


def test_history_lines() -> None:
    assert history_text("status", "Rejected: Outside my scope") == (
        "The clinic set the status to Rejected: Outside my scope"
    )  # rows written before the lifecycle
    declined = _state(rejected_task(_requested(), AT, "ime-request", "Ask the insurer.", NS))
    kind, detail = status_event(declined)
    assert history_text(kind, detail) == (
        "The physician declined the referral: The request is really an IME: Ask the insurer."
    )
    assert history_text(*status_event(_state(_accepted()))) == "The physician accepted the referral"
    assert history_text("rerouted", "7KQ2-M9XD") == "You sent it to another physician as referral 7KQ2-M9XD"
    assert history_text("task-ready", None) == "The clinic set the status to ready"
    assert history_text("filed", None) == "Opinion filed to the patient's chart"


def test_every_stage_is_reachable() -> None:
    held = on_hold_task(_accepted(), AT, "More please", PHYSICIAN, NS)
    overdue = {**_accepted(), "restriction": {"period": {"end": "2026-12-01"}}}
    facts = [
        ReferralFacts(outbox=None), ReferralFacts(outbox="pending"), ReferralFacts(outbox="dead"),
        _facts(_requested()), _facts(received_task(_requested(), AT)), _facts(_accepted()), _facts(held),
        _facts(overdue), _facts(_completed()), _facts(_completed(), filing="filed"),
        _facts(rejected_task(_requested(), AT, "unavailable", "", NS)),
        _facts(rejected_task(_requested(), AT, "unavailable", "", NS), rerouted_to="X"),
        _facts(_accepted(), cancel_reason="x"),
    ]
    stages = {lifecycle_from_facts(f, NOW).stage for f in facts}
    assert stages == {"draft", "sent", "failed", "delivered", "received", "accepted", "on-hold", "overdue",
                      "answered", "filed", "declined", "rerouted", "cancelled"}
    assert all(lifecycle_from_facts(replace(f, outbox=f.outbox), NOW).headline for f in facts)
