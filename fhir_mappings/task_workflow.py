"""Each step of a referral Task's life at the receiving clinic, as one pure function on its JSON.

The FHIR Workflow Task state machine (https://hl7.org/fhir/R4/task.html#statemachine):
requested → received → accepted → in-progress → completed, or rejected before the work starts,
on-hold while the physician waits for more records, cancelled by the referring ATP. Each function
returns a new Task (the input is never changed) with ``lastModified`` = ``now``, validated with the
R4B model, or raises ``TransitionRefused`` when the Task is not in a status the step starts from.
``businessStatus`` carries the BSeR TaskBusinessStatus code of the step
(http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS). docs/delivery.md lists every output.
"""

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from fhir.resources.R4B.task import Task

from fhir_mappings.codes import (
    BSER_ACCEPTED,
    BSER_CANCELLED,
    BSER_COMPLETED,
    BSER_DECLINED,
    BSER_SCHEDULED,
    DECLINE_REASON_DISPLAY,
    DECLINE_REASON_SYSTEM_ID,
    HOLD_REASON_SYSTEM_ID,
    MMI_STATUS_DISPLAY,
    MMI_STATUS_SYSTEM_ID,
    MORE_RECORDS,
    TASK_INPUT_QUESTION,
    TASK_INPUT_RECORD,
    TASK_IO_SYSTEM_ID,
    TASK_OUTPUT_ANSWER,
    TASK_OUTPUT_MMI,
    TASK_OUTPUT_MMI_DATE,
    TASK_OUTPUT_MMI_EXPECTED,
    TASK_OUTPUT_OPINION,
    TASK_OUTPUT_RESTRICTIONS,
    TASK_OUTPUT_SUMMARY,
    TASK_OUTPUT_TREATMENT,
    TASK_OUTPUT_VISIT,
    TASK_OUTPUT_WORK_RELATEDNESS,
    WORK_RELATEDNESS_DISPLAY,
    WORK_RELATEDNESS_SYSTEM_ID,
    Code,
    local_system,
)
from fhir_mappings.domain import Conclusion, DeclineReason, SignedOpinion
from fhir_mappings.element import mappings_from_element, pruned_element
from fhir_mappings.errors import MappingError

OPEN = frozenset({"requested", "received", "accepted", "in-progress", "on-hold", "ready"})
UNSTARTED = frozenset({"requested", "received"})
WORKING = frozenset({"accepted", "in-progress"})


class TransitionRefused(MappingError):
    """The Task is not in a status this step starts from (someone else moved it meanwhile)."""

    def __init__(self, status: object, step: str) -> None:
        super().__init__(f"a referral that is {status or 'unknown'} cannot be {step}")
        self.status = str(status or "unknown")


def received_task(task: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The physician opened a new referral: requested → received."""
    return _valid(_moved(task, {"requested"}, "received", now, "received"))


def accepted_task(task: Mapping[str, Any], now: str, ns: str, visit: str | None = None) -> dict[str, Any]:
    """Accepted; for in person and telehealth with the visit's date and time as an output."""
    moved = _moved(task, UNSTARTED, "accepted", now, "accepted")
    moved["businessStatus"] = _concept(BSER_SCHEDULED if visit else BSER_ACCEPTED)
    if visit:
        system = local_system(ns, TASK_IO_SYSTEM_ID)
        moved["output"] = [*_outputs_without(moved, system, {TASK_OUTPUT_VISIT[0]}),
                           _output(system, TASK_OUTPUT_VISIT, {"valueDateTime": visit})]  # fmt: skip
    return _valid(moved)


def rejected_task(
    task: Mapping[str, Any], now: str, reason: DeclineReason, note: str, ns: str
) -> dict[str, Any]:
    """Declined before the work started, with a coded reason and the physician's words."""
    moved = _moved(task, UNSTARTED | {"accepted"}, "rejected", now, "declined")
    display = DECLINE_REASON_DISPLAY[reason]
    coding = {"system": local_system(ns, DECLINE_REASON_SYSTEM_ID), "code": reason, "display": display}
    moved["statusReason"] = {"coding": [coding], "text": f"{display}: {note}" if note.strip() else display}
    moved["businessStatus"] = _concept(BSER_DECLINED)
    return _valid(moved)


def started_task(task: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The physician began the opinion: accepted → in-progress."""
    return _valid(_moved(task, {"accepted"}, "in-progress", now, "started"))


def on_hold_task(
    task: Mapping[str, Any], now: str, note: str, author: Mapping[str, str], ns: str
) -> dict[str, Any]:
    """The physician asks for more records: on hold, the request as a note the ATP reads."""
    if not note.strip():
        raise MappingError("a request for more records needs the physician's words")
    moved = _moved(task, WORKING, "on-hold", now, "put on hold")
    code, display = MORE_RECORDS
    coding = {"system": local_system(ns, HOLD_REASON_SYSTEM_ID), "code": code, "display": display}
    moved["statusReason"] = {"coding": [coding], "text": note.strip()}
    moved["note"] = [*mappings_from_element(task.get("note")),
                     {"authorReference": dict(author), "time": now, "text": note.strip()}]  # fmt: skip
    return _valid(moved)


def records_added_task(
    task: Mapping[str, Any], now: str, records: Sequence[tuple[str, str]], ns: str
) -> dict[str, Any]:
    """The ATP sent the records asked for: one input each (reference, title), back to in-progress."""
    if not records:
        raise MappingError("no records were added")
    moved = _moved(task, {"on-hold"}, "in-progress", now, "given records")
    system = local_system(ns, TASK_IO_SYSTEM_ID)
    added = [_output(system, TASK_INPUT_RECORD, {"valueReference": {"reference": ref, "display": title}})
             for ref, title in records]  # fmt: skip
    moved["input"] = [*mappings_from_element(task.get("input")), *added]
    moved.pop("statusReason", None)
    titles = "; ".join(title for _, title in records)
    moved["note"] = [*mappings_from_element(task.get("note")),
                     {"time": now, "text": f"The referring physician added records: {titles}"}]  # fmt: skip
    return _valid(moved)


def completed_task(task: Mapping[str, Any], now: str, opinion: SignedOpinion, ns: str) -> dict[str, Any]:
    """Signed: one answer per question in order, the conclusion, the visit, then the letter."""
    questions = question_count(task, ns)
    if len(opinion.answers) != questions or not all(a.strip() for a in opinion.answers):
        raise MappingError(f"the opinion needs an answer to each of the {questions} questions")
    moved = _moved(task, WORKING, "completed", now, "completed")
    system = local_system(ns, TASK_IO_SYSTEM_ID)
    outputs = [_output(system, TASK_OUTPUT_ANSWER, {"valueString": a}) for a in opinion.answers]
    outputs += conclusion_outputs(opinion.conclusion, ns)
    if opinion.visit:
        outputs.append(_output(system, TASK_OUTPUT_VISIT, {"valueDateTime": opinion.visit}))
    letter = {"valueReference": {"reference": opinion.letter_reference}}
    outputs.append(_output(system, TASK_OUTPUT_OPINION, letter))
    moved["output"] = outputs
    moved["businessStatus"] = _concept(BSER_COMPLETED)
    moved.pop("statusReason", None)
    return _valid(moved)


def cancelled_task(task: Mapping[str, Any], now: str, reason: str) -> dict[str, Any]:
    """The referring ATP withdrew the referral: any open Task → cancelled, with their words."""
    moved = _moved(task, OPEN, "cancelled", now, "cancelled")
    moved["statusReason"] = {"text": reason.strip() or "Cancelled by the referring physician"}
    moved["businessStatus"] = _concept(BSER_CANCELLED)
    return _valid(moved)


def conclusion_outputs(conclusion: Conclusion, ns: str) -> list[dict[str, Any]]:
    """The conclusion as outputs: MMI first (coded), then its date or expected time, then the rest."""
    system = local_system(ns, TASK_IO_SYSTEM_ID)
    mmi = {"system": local_system(ns, MMI_STATUS_SYSTEM_ID), "code": conclusion.mmi,
           "display": MMI_STATUS_DISPLAY[conclusion.mmi]}  # fmt: skip
    coded = {"valueCodeableConcept": {"coding": [mmi], "text": mmi["display"]}}
    outputs = [_output(system, TASK_OUTPUT_MMI, coded)]
    if conclusion.mmi == "reached" and conclusion.mmi_date:
        outputs.append(_output(system, TASK_OUTPUT_MMI_DATE, {"valueDate": conclusion.mmi_date}))
    if conclusion.mmi == "not-reached" and conclusion.mmi_expected:
        outputs.append(_output(system, TASK_OUTPUT_MMI_EXPECTED, {"valueString": conclusion.mmi_expected}))
    if conclusion.work_relatedness:
        display = WORK_RELATEDNESS_DISPLAY[conclusion.work_relatedness]
        coding = {"system": local_system(ns, WORK_RELATEDNESS_SYSTEM_ID),
                  "code": conclusion.work_relatedness, "display": display}  # fmt: skip
        text = conclusion.work_relatedness_note or display  # CodeableConcept.text: the physician's words
        concept = {"valueCodeableConcept": {"coding": [coding], "text": text}}
        outputs.append(_output(system, TASK_OUTPUT_WORK_RELATEDNESS, concept))
    for code, value in ((TASK_OUTPUT_RESTRICTIONS, conclusion.work_restrictions),
                        (TASK_OUTPUT_TREATMENT, conclusion.treatment),
                        (TASK_OUTPUT_SUMMARY, conclusion.summary)):  # fmt: skip
        if value and value.strip():
            outputs.append(_output(system, code, {"valueString": value.strip()}))
    return outputs


def question_count(task: Mapping[str, Any], ns: str) -> int:
    """How many questions the Task asks (inputs of type task-io|question)."""
    return len(questions_from_task(task, ns))


def questions_from_task(task: Mapping[str, Any], ns: str) -> list[str]:
    """The questions in the ATP's order (Task.input of type task-io|question, valueString)."""
    system = local_system(ns, TASK_IO_SYSTEM_ID)
    return [
        str(item.get("valueString") or "")
        for item in mappings_from_element(task.get("input"))
        if _has_type(item, system, TASK_INPUT_QUESTION[0])
    ]


def _moved(task: Mapping[str, Any], starts: set[str] | frozenset[str], status: str, now: str,
           step: str) -> dict[str, Any]:  # fmt: skip
    if task.get("status") not in starts:
        raise TransitionRefused(task.get("status"), step)
    moved = copy.deepcopy(dict(task))
    moved["status"], moved["lastModified"] = status, now
    return moved


def _concept(code: Code) -> dict[str, Any]:
    return {"coding": [code.coding()], "text": code.display}


def _output(system: str, code: tuple[str, str], value: dict[str, Any]) -> dict[str, Any]:
    return {"type": {"coding": [{"system": system, "code": code[0], "display": code[1]}]}, **value}


def _outputs_without(task: Mapping[str, Any], system: str, codes: set[str]) -> list[Mapping[str, Any]]:
    return [o for o in mappings_from_element(task.get("output"))
            if not any(_has_type(o, system, code) for code in codes)]  # fmt: skip


def _has_type(item: Mapping[str, Any], system: str, code: str) -> bool:
    codings = mappings_from_element((item.get("type") or {}).get("coding"))
    return any(c.get("system") == system and c.get("code") == code for c in codings)


def _valid(task: dict[str, Any]) -> dict[str, Any]:
    """Strict output: the R4B model must accept the Task (https://hl7.org/fhir/R4/validation.html)."""
    task = pruned_element(task)
    try:
        Task.model_validate(task)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the Task is not valid FHIR R4: {error}") from error
    return task
