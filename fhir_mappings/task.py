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
    DECLINE_REASON_SYSTEM_ID,
    FULFILL,
    HOLD_REASON_SYSTEM_ID,
    MMI_STATUS_SYSTEM_ID,
    ORDER_INTENT,
    PLACER_IDENTIFIER,
    REFERRAL_IDENTIFIER_ID,
    TASK_INPUT_QUESTION,
    TASK_IO_SYSTEM_ID,
    TASK_STATUS_DISPLAY,
    WORK_RELATEDNESS_DISPLAY,
    WORK_RELATEDNESS_SYSTEM_ID,
    identifier_system,
    local_system,
)
from fhir_mappings.domain import MMI_STATUSES, WORK_RELATEDNESS, Conclusion, Referral
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
    reason_code: str | None = None  # our decline-reason or hold-reason code, when the clinic used one
    conclusion: Conclusion | None = None  # the signed conclusion (MMI first), once completed
    visit: str | None = None  # the scheduled visit's dateTime, once accepted with one
    due_by: str | None = None  # restriction.period.end: when the opinion is due
    notes: tuple[str, ...] = ()  # Task.note texts, in order (a request for more records, …)
    version: str | None = None  # meta.versionId, for If-Match on the next update

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
    """Status, reasons, answers in order, the conclusion and the opinion reference, read liberally."""
    status_reason = mapping_from_element(resource.get("statusReason"))
    outputs = _outputs_by_code(resource, ns)
    opinions = [reference_from_reference(o.get("valueReference")) for o in outputs.get("opinion", [])]
    notes = [string_from_element(n.get("text")) for n in mappings_from_element(resource.get("note"))]
    return TaskState(
        task_id=string_from_element(resource.get("id")),
        status=string_from_element(resource.get("status")) or "unknown",
        reason=string_from_element(status_reason.get("text")),
        answers=tuple(string_from_element(o.get("valueString")) or "" for o in outputs.get("answer", [])),
        opinion=next((o for o in opinions if o), None),
        reason_code=_local_code(status_reason, ns, (DECLINE_REASON_SYSTEM_ID, HOLD_REASON_SYSTEM_ID)),
        conclusion=_conclusion(outputs, ns),
        visit=_first(outputs, "visit", "valueDateTime"),
        due_by=string_from_element(
            mapping_from_element(mapping_from_element(resource.get("restriction")).get("period")).get("end")
        ),
        notes=tuple(note for note in notes if note),
        version=string_from_element(mapping_from_element(resource.get("meta")).get("versionId")),
    )


def _outputs_by_code(resource: Mapping[str, Any], ns: str) -> dict[str, list[Mapping[str, Any]]]:
    """Task.output grouped by our task-io code, in order; anyone else's outputs are left out."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for output in mappings_from_element(resource.get("output")):
        code = _io_code(output, ns)
        if code is not None:
            grouped.setdefault(code, []).append(output)
    return grouped


def _first(outputs: Mapping[str, list[Mapping[str, Any]]], code: str, value: str) -> str | None:
    """The first output of ``code``'s primitive ``value`` (valueString, valueDate, …)."""
    return next((string_from_element(o.get(value)) for o in outputs.get(code, [])), None)


def _conclusion(outputs: Mapping[str, list[Mapping[str, Any]]], ns: str) -> Conclusion | None:
    """The signed conclusion, when the Task carries an MMI output with one of our codes."""
    concept = next((mapping_from_element(o.get("valueCodeableConcept")) for o in outputs.get("mmi", [])), {})
    mmi = next((m for m in MMI_STATUSES if m == _local_code(concept, ns, (MMI_STATUS_SYSTEM_ID,))), None)
    if mmi is None:
        return None
    relatedness = next((mapping_from_element(o.get("valueCodeableConcept"))
                        for o in outputs.get("work-relatedness", [])), {})  # fmt: skip
    code = _local_code(relatedness, ns, (WORK_RELATEDNESS_SYSTEM_ID,))
    work_relatedness = next((w for w in WORK_RELATEDNESS if w == code), None)
    note = string_from_element(relatedness.get("text"))
    display = WORK_RELATEDNESS_DISPLAY[work_relatedness] if work_relatedness else None
    return Conclusion(
        mmi=mmi,
        summary=_first(outputs, "summary", "valueString") or "",
        mmi_date=_first(outputs, "mmi-date", "valueDate"),
        mmi_expected=_first(outputs, "mmi-expected", "valueString"),
        work_relatedness=work_relatedness,
        work_relatedness_note=None if note == display else note,
        work_restrictions=_first(outputs, "work-restrictions", "valueString"),
        treatment=_first(outputs, "treatment", "valueString"),
    )


def _local_code(concept: Mapping[str, Any], ns: str, system_ids: tuple[str, ...]) -> str | None:
    """The code of the first coding in one of our local CodeSystems ``system_ids``."""
    systems = {local_system(ns, system_id) for system_id in system_ids}
    for coding in mappings_from_element(concept.get("coding")):
        if coding.get("system") in systems:
            return string_from_element(coding.get("code"))
    return None


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
