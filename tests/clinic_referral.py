"""A referral delivered to the sandbox's receiving clinic exactly as the app writes it, for tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests

from tests.sandbox_server import Sandbox

NS = "https://so.example.org/fhir"  # the sandbox's SANDBOX_NAMESPACE default, which tests keep
TASK_IO = f"{NS}/CodeSystem/task-io"
SCOPE = (
    "You are asked to answer the questions below by rendering an opinion only. "
    "You are not asked to assume care or to co-manage this case."
)


@dataclass(frozen=True)
class Delivered:
    """The ids the delivery wrote at the clinic."""

    task_id: str
    service_request_id: str
    patient_id: str
    referral_id: str


def deliver(
    sandbox: Sandbox, questions: list[str], owner: str = "so-1", records: list[dict[str, Any]] | None = None,
    name: dict[str, Any] | None = None,
) -> Delivered:
    """PUT a Patient, a Condition, the shared records, the ServiceRequest and the Task at the clinic."""
    suffix = uuid.uuid4().hex[:12]
    referral_id = uuid.uuid4().hex
    clinic = sandbox.admin_session(clinic=True)
    patient = {"resourceType": "Patient", "id": f"pt-{suffix}", "gender": "female",
               "birthDate": "1984-03-12", "name": [name or {"family": "Quintana", "given": ["Rosa"]}]}
    condition = {"resourceType": "Condition", "id": f"cond-{suffix}",
                 "subject": {"reference": f"Patient/pt-{suffix}"},
                 "code": {"text": "Lumbar strain"}}
    _put(clinic, sandbox, patient)
    _put(clinic, sandbox, condition)
    shared = [{**record, "id": f"rec-{suffix}-{n}", "subject": {"reference": f"Patient/pt-{suffix}"}}
              for n, record in enumerate(records or [], start=1)]
    for record in shared:
        _put(clinic, sandbox, record)
    request = _service_request(suffix, referral_id, questions)
    if shared:
        request["supportingInfo"] = [{"reference": f"{r['resourceType']}/{r['id']}"} for r in shared]
    _put(clinic, sandbox, request)
    _put(clinic, sandbox, _task(suffix, referral_id, questions, owner))
    return Delivered(f"task-{suffix}", f"sr-{suffix}", f"pt-{suffix}", referral_id)


def _identifier(referral_id: str) -> dict[str, Any]:
    return {"system": f"{NS}/sid/referral", "value": referral_id, "type": {"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PLAC",
         "display": "Placer Identifier"}]}}


def _service_request(suffix: str, referral_id: str, questions: list[str]) -> dict[str, Any]:
    count = len(questions)
    notes = [SCOPE] + [f"Question {n} of {count}: {q}" for n, q in enumerate(questions, 1)]
    return {
        "resourceType": "ServiceRequest", "id": f"sr-{suffix}", "status": "active",
        "intent": "order", "identifier": [_identifier(referral_id)],
        "code": {"text": "Second opinion (opinion only)"},
        "orderDetail": [{"text": "Opinion only: no transfer of care, no co-management"},
                        {"text": "Telehealth"}],
        "subject": {"reference": f"Patient/pt-{suffix}"},
        "reasonReference": [{"reference": f"Condition/cond-{suffix}", "display": "Lumbar strain"}],
        "note": [{"text": text} for text in notes],
    }


def _task(suffix: str, referral_id: str, questions: list[str], owner: str) -> dict[str, Any]:
    question_type = {"coding": [{"system": TASK_IO, "code": "question"}]}
    return {
        "resourceType": "Task", "id": f"task-{suffix}", "identifier": [_identifier(referral_id)],
        "status": "requested", "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                             "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/sr-{suffix}"},
        "for": {"reference": f"Patient/pt-{suffix}"},
        "authoredOn": "2026-11-20T10:00:00Z",
        "requester": {"reference": "Practitioner/atp-1", "display": "Dr. Casey Atwood, MD"},
        "owner": {"reference": f"PractitionerRole/{owner}"},
        "input": [{"type": question_type, "valueString": q} for q in questions],
    }


def _put(clinic: requests.Session, sandbox: Sandbox, resource: dict[str, Any]) -> None:
    url = f"{sandbox.clinic_fhir_base}/{resource['resourceType']}/{resource['id']}"
    response = clinic.put(url, json=resource, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code in (200, 201), response.text

