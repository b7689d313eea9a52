"""The referral Task at the receiving clinic and what its answers say (FHIR Workflow, BSeR-style).

https://hl7.org/fhir/R4/task.html and https://hl7.org/fhir/R4/workflow-management.html#optionh
("Task as a request for fulfilment"); aligned with BSeR ReferralTask: intent ``order``, code
``fulfill``, focus → the ServiceRequest, one ``input`` per question and, on completion, one
``output`` per answer plus the opinion letter.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.task import Task

from fhir_mappings.codes import (
    FULFILL,
    ORDER_INTENT,
    PLACER_IDENTIFIER,
    REFERRAL_IDENTIFIER_ID,
    TASK_INPUT_QUESTION,
    TASK_IO_SYSTEM_ID,
    TASK_OUTPUT_ANSWER,
    TASK_OUTPUT_OPINION,
    TASK_STATUS_DISPLAY,
    identifier_system,
    local_system,
)
from fhir_mappings.domain import Referral
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError
from fhir_mappings.reference import reference_from_reference

FINAL_STATUSES = frozenset({"completed", "rejected", "cancelled", "failed", "entered-in-error"})


@dataclass(frozen=True)
class TaskState:
    """Where the clinic says the referral stands, with its answers once completed."""

    task_id: str | None
    status: str  # task-status code as sent (requested, received, accepted, …)
    reason: str | None = None  # statusReason.text, e.g. why it was rejected
    answers: tuple[str, ...] = ()  # output "answer" values, in question order
    opinion: str | None = None  # "DocumentReference/<id>" at the clinic, the opinion letter

    @property
    def final(self) -> bool:
        """True once the clinic will not change the Task any more."""
        return self.status in FINAL_STATUSES


def task_from_referral(
    referral: Referral, ns: str, *, focus: str, patient: str, authored_on: str
) -> dict[str, Any]:
    """The Task of the contract; ``focus`` and ``patient`` are Bundle fullUrls (``urn:uuid:…``)."""
    if not referral.questions:
        raise MappingError("a referral Task needs at least one question")
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [_identifier(referral.id, ns)],
        "status": "requested",
        "intent": ORDER_INTENT,
        "code": {"coding": [FULFILL.coding()], "text": FULFILL.display},
        "focus": {"reference": focus},
        "for": {"reference": patient},
        "authoredOn": authored_on,
        "requester": {"display": referral.requester.display or "Referring physician"},
        "owner": {"reference": referral.physician.role_reference, "display": referral.physician.name},
        "input": [_question_input(question, ns) for question in referral.questions],
    }
    if referral.due_by:  # "when fulfillment is sought" (https://hl7.org/fhir/R4/task-definitions.html#Task.restriction.period)
        resource["restriction"] = {"period": {"end": referral.due_by.isoformat()}}
    Task.model_validate(resource)  # strict output: https://hl7.org/fhir/R4/validation.html
    return resource


def task_state_from_task(resource: Mapping[str, Any], ns: str) -> TaskState:
    """Status, reason, answers in order and the opinion reference, read liberally."""
    status = string_from_element(resource.get("status")) or "unknown"
    reason = string_from_element(mapping_from_element(resource.get("statusReason")).get("text"))
    answers: list[str] = []
    opinion: str | None = None
    for output in mappings_from_element(resource.get("output")):
        code = _io_code(output, ns)
        if code == TASK_OUTPUT_ANSWER[0]:
            answers.append(string_from_element(output.get("valueString")) or "")
        elif code == TASK_OUTPUT_OPINION[0] and opinion is None:
            opinion = reference_from_reference(output.get("valueReference"))
    return TaskState(
        task_id=string_from_element(resource.get("id")),
        status=status,
        reason=reason,
        answers=tuple(answers),
        opinion=opinion,
    )


def status_display_from_code(status: str) -> str:
    """The task-status display for a code ("In Progress"), the code itself when unknown."""
    return TASK_STATUS_DISPLAY.get(status, status)


def _identifier(referral_id: str, ns: str) -> dict[str, Any]:
    """Our placer identifier on the Task, as on the ServiceRequest (BSeR ReferralTask PLAC slice)."""
    return {
        "use": "official",
        "type": {"coding": [PLACER_IDENTIFIER.coding()]},
        "system": identifier_system(ns, REFERRAL_IDENTIFIER_ID),
        "value": referral_id,
    }


def _question_input(question: str, ns: str) -> dict[str, Any]:
    """One Task.input per question (https://hl7.org/fhir/R4/task-definitions.html#Task.input)."""
    code, display = TASK_INPUT_QUESTION
    coding = {"system": local_system(ns, TASK_IO_SYSTEM_ID), "code": code, "display": display}
    return {"type": {"coding": [coding]}, "valueString": question}


def _io_code(element: Mapping[str, Any], ns: str) -> str | None:
    """Our task-io code of an input or output, None for anyone else's."""
    system = local_system(ns, TASK_IO_SYSTEM_ID)
    for coding in mappings_from_element(mapping_from_element(element.get("type")).get("coding")):
        if coding.get("system") == system:
            return string_from_element(coding.get("code"))
    return None
