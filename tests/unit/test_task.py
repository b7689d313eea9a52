"""The referral Task of the contract and reading the clinic's answers back."""

from dataclasses import replace

import pytest

from fhir_mappings.errors import MappingError
from fhir_mappings.task import task_from_referral, task_state_from_task
from tests.unit.test_service_request import NS, REFERRAL

IO = f"{NS}/CodeSystem/task-io"


def _task() -> dict[str, object]:
    return task_from_referral(
        REFERRAL, NS, focus="urn:uuid:sr", patient="urn:uuid:pt", authored_on="2025-03-04T09:30:00-07:00"
    )


def test_task_has_the_contract_shape() -> None:
    task = _task()
    assert task["status"] == "requested" and task["intent"] == "order"
    assert task["code"]["coding"][0]["system"] == "http://hl7.org/fhir/CodeSystem/task-code"  # type: ignore[index]
    assert task["code"]["coding"][0]["code"] == "fulfill"  # type: ignore[index]
    assert task["identifier"][0]["system"] == f"{NS}/sid/referral"  # type: ignore[index]
    assert task["identifier"][0]["value"] == "ref-123"  # type: ignore[index]
    assert task["identifier"][0]["type"]["coding"][0]["code"] == "PLAC"  # type: ignore[index]
    assert task["focus"] == {"reference": "urn:uuid:sr"}
    assert task["for"] == {"reference": "urn:uuid:pt"}
    assert task["owner"]["reference"] == "PractitionerRole/r1"  # type: ignore[index]
    assert task["requester"] == {"display": "Dr. Sam Atp, DO"}


def test_one_input_per_question_in_order() -> None:
    inputs = _task()["input"]
    assert [i["valueString"] for i in inputs] == list(REFERRAL.questions)  # type: ignore[attr-defined]
    assert {(c["system"], c["code"]) for i in inputs for c in i["type"]["coding"]} == {(IO, "question")}  # type: ignore[attr-defined]


def test_a_task_without_questions_is_refused() -> None:
    with pytest.raises(MappingError):
        task_from_referral(replace(REFERRAL, questions=()), NS, focus="a", patient="b", authored_on="2025")


def test_completed_task_gives_answers_in_order_and_the_opinion() -> None:
    completed = {
        "resourceType": "Task",
        "id": "t1",
        "status": "completed",
        "output": [
            {"type": {"coding": [{"system": IO, "code": "answer"}]}, "valueString": "Yes."},
            {
                "type": {"coding": [{"system": IO, "code": "opinion"}]},
                "valueReference": {"reference": "DocumentReference/d1"},
            },
            {"type": {"coding": [{"system": "urn:other", "code": "answer"}]}, "valueString": "ignored"},
            {"type": {"coding": [{"system": IO, "code": "answer"}]}, "valueString": "Not yet."},
        ],
    }
    state = task_state_from_task(completed, NS)
    assert state.answers == ("Yes.", "Not yet.")
    assert state.opinion == "DocumentReference/d1"
    assert state.final and state.task_id == "t1"


def test_rejected_task_gives_its_reason_and_odd_input_is_read_liberally() -> None:
    rejected = {"status": "rejected", "statusReason": {"text": "Not my field"}, "output": "x"}
    state = task_state_from_task(rejected, NS)
    assert (state.status, state.reason, state.answers, state.final) == ("rejected", "Not my field", (), True)
    assert task_state_from_task({}, NS).status == "unknown"


def test_opinion_document_reference_links_the_service_request() -> None:
    from fhir_mappings.opinion import (
        Opinion,
        answers_text_from_opinion,
        document_reference_from_opinion,
        service_request_status_from_task_status,
    )

    letter = {"contentType": "application/pdf", "data": "JVBERi0=", "title": "Opinion letter"}
    opinion = Opinion(
        "ref-1", "Patient/p1", "sr-9", ("Q one?", "Q two?"), ("A one.",), "2025-03-04T10:00:00Z", letter
    )
    assert answers_text_from_opinion(opinion) == (
        "Question 1: Q one?\nAnswer: A one.\n\nQuestion 2: Q two?\nAnswer: (no answer)"
    )
    document = document_reference_from_opinion(opinion, NS, "dGV4dA==")
    assert document["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "11488-4",
        "display": "Consult note",
    }
    category = document["category"][0]["coding"][0]
    assert (category["system"], category["code"]) == (
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
        "clinical-note",
    )
    assert document["context"] == {"related": [{"reference": "ServiceRequest/sr-9"}]}
    assert [c["attachment"]["contentType"] for c in document["content"]] == [
        "application/pdf",
        "text/plain; charset=utf-8",
    ]
    assert service_request_status_from_task_status("rejected") == "revoked"
    assert service_request_status_from_task_status("completed") == "completed"
    assert service_request_status_from_task_status("in-progress") is None
