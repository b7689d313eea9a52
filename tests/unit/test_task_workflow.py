"""The referral Task's steps at the clinic, and reading each back as the ATP's side does."""

from typing import Any

import pytest

from fhir_mappings.domain import Conclusion, SignedOpinion
from fhir_mappings.errors import MappingError
from fhir_mappings.task import task_from_referral, task_state_from_task
from fhir_mappings.task_workflow import (
    TransitionRefused,
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

NOW = "2026-12-06T19:05:00Z"
IO = f"{NS}/CodeSystem/task-io"
BSER = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
PHYSICIAN = {"reference": "Practitioner/so-1-prac", "display": "Dr. Riley Chen, MD"}
CONCLUSION = Conclusion(
    mmi="not-reached", summary="Lumbar strain; not at MMI.", mmi_expected="8 to 12 weeks",
    work_relatedness="work-related", work_relatedness_note="Lifting at work, consistent with the history.",
    work_restrictions="No lifting over 20 lb.", treatment="Six more weeks of physical therapy.",
)


def _task(**changes: Any) -> dict[str, Any]:
    task = task_from_referral(REFERRAL, NS, focus="ServiceRequest/sr1", patient="Patient/p1",
                              authored_on="2026-12-01T09:30:00-07:00")  # fmt: skip
    return {**task, "id": "t1", **changes}


def _codes(task: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for o in task.get("output", []) for c in o["type"]["coding"]]


def test_the_happy_path_received_accepted_started_completed() -> None:
    task = received_task(_task(), NOW)
    assert task["status"] == "received" and task["lastModified"] == NOW
    task = accepted_task(task, NOW, NS, visit="2026-12-10T09:00:00-07:00")
    assert task["businessStatus"]["coding"][0] == {"system": BSER, "code": "5.1.1",
                                                   "display": "Service Request Event Scheduled"}
    task = started_task(task, NOW)
    answers = tuple(f"Answer {n}" for n in range(1, len(REFERRAL.questions) + 1))
    opinion = SignedOpinion(answers, CONCLUSION, "DocumentReference/d9", visit="2026-12-10T09:00:00-07:00")
    done = completed_task(task, NOW, opinion, NS)
    assert done["status"] == "completed"
    assert _codes(done) == [(IO, "answer")] * len(answers) + [
        (IO, "mmi"), (IO, "mmi-expected"), (IO, "work-relatedness"), (IO, "work-restrictions"),
        (IO, "treatment"), (IO, "summary"), (IO, "visit"), (IO, "opinion"),
    ]
    state = task_state_from_task(done, NS)
    assert state.answers == answers and state.opinion == "DocumentReference/d9"
    assert state.conclusion == CONCLUSION
    assert state.visit == "2026-12-10T09:00:00-07:00" and state.final


def test_accepting_without_a_visit_is_plain_accepted() -> None:
    task = accepted_task(_task(), NOW, NS)
    assert task["businessStatus"]["coding"][0]["code"] == "3.0" and "output" not in task


def test_a_decline_carries_the_coded_reason_and_the_physicians_words() -> None:
    task = rejected_task(_task(status="received"), NOW, "ime-request", "The questions concern a hearing.", NS)
    assert task["statusReason"]["coding"] == [{"system": f"{NS}/CodeSystem/decline-reason",
                                               "code": "ime-request",
                                               "display": "The request is really an IME"}]
    state = task_state_from_task(task, NS)
    assert state.reason == "The request is really an IME: The questions concern a hearing."
    assert state.reason_code == "ime-request" and state.final


def test_a_decline_after_the_work_started_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="in-progress"):
        rejected_task(_task(status="in-progress"), NOW, "unavailable", "", NS)


def test_asking_for_records_puts_it_on_hold_and_the_records_bring_it_back() -> None:
    held = on_hold_task(_task(status="accepted"), NOW, "Please send the MRI report.", PHYSICIAN, NS)
    state = task_state_from_task(held, NS)
    assert (state.status, state.reason_code, state.reason) == ("on-hold", "more-records",
                                                               "Please send the MRI report.")
    assert state.notes == ("Please send the MRI report.",) and not state.final
    back = records_added_task(held, NOW, [("DocumentReference/x1", "MRI lumbar spine")], NS)
    assert back["status"] == "in-progress" and "statusReason" not in back
    assert back["input"][-1]["valueReference"] == {"reference": "DocumentReference/x1",
                                                   "display": "MRI lumbar spine"}
    notes = task_state_from_task(back, NS).notes
    assert notes[-1] == "The referring physician added records: MRI lumbar spine"


def test_a_request_for_records_needs_words() -> None:
    with pytest.raises(MappingError):
        on_hold_task(_task(status="accepted"), NOW, "  ", PHYSICIAN, NS)


def test_completing_needs_an_answer_to_every_question() -> None:
    opinion = SignedOpinion(("Only one",), CONCLUSION, "DocumentReference/d9")
    with pytest.raises(MappingError, match="each of the"):
        completed_task(_task(status="in-progress"), NOW, opinion, NS)


def test_cancelling_works_on_any_open_task_and_never_on_a_closed_one() -> None:
    cancelled = cancelled_task(_task(status="accepted"), NOW, "The worker returned to full duty.")
    state = task_state_from_task(cancelled, NS)
    assert (state.status, state.reason) == ("cancelled", "The worker returned to full duty.")
    with pytest.raises(TransitionRefused):
        cancelled_task(_task(status="completed"), NOW, "")


def test_the_input_task_is_never_changed() -> None:
    task = _task()
    accepted_task(task, NOW, NS, visit="2026-12-10T09:00:00-07:00")
    assert task["status"] == "requested" and "output" not in task
