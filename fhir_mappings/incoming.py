"""A referral as the second-opinion physician meets it at their clinic: who they are, what is theirs.

Read from the clinic's own FHIR server: the referral Task (https://hl7.org/fhir/R4/task.html), its
focus ServiceRequest, the Patient, the reason Conditions and the workers' comp Coverage delivered
with it (docs/delivery.md). A physician sees a Task only when its ``owner`` is them: one of their
PractitionerRoles, their Practitioner, or one of their Organizations.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.codes import MODALITY_DISPLAY, REFERRAL_IDENTIFIER_ID, SCOPE_STATEMENT, identifier_system
from fhir_mappings.coverage import claim_number_from_coverage
from fhir_mappings.domain import Modality
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.human_name import text_from_human_names
from fhir_mappings.letter import modality_from_service_request
from fhir_mappings.reference import reference_from_reference, reference_from_resource, resources_by_reference
from fhir_mappings.task import TaskState, task_state_from_task
from fhir_mappings.task_workflow import questions_from_task

Resources = Mapping[str, Mapping[str, Any]]  # "Type/id" → resource
STATUS_WORDS = {
    "requested": "New",
    "received": "New",
    "ready": "New",
    "accepted": "Accepted",
    "in-progress": "Answering",
    "on-hold": "Waiting for records",
    "completed": "Signed and returned",
    "rejected": "Declined",
    "cancelled": "Cancelled by the referring physician",
    "failed": "Failed",
}


@dataclass(frozen=True)
class AnsweringPhysician:
    """The signed-in second-opinion physician and every reference a Task may name them by."""

    reference: str  # the verified fhirUser, relative: "Practitioner/p1" or "PractitionerRole/r1"
    name: str
    practitioner: str | None  # "Practitioner/p1"
    roles: tuple[str, ...]  # "PractitionerRole/r1", …
    organizations: Mapping[str, str]  # "Organization/o1" → its name

    @property
    def owners(self) -> frozenset[str]:
        """The Task.owner references that make a Task theirs."""
        found = {self.reference, *self.roles, *self.organizations}
        if self.practitioner:
            found.add(self.practitioner)
        return frozenset(found)

    @property
    def organization(self) -> tuple[str, str] | None:
        """(reference, name) of their first organization: the Provenance's onBehalfOf."""
        return next(iter(self.organizations.items()), None)


@dataclass(frozen=True)
class IncomingReferral:
    """One referral Task as the physician's worklist and page show it."""

    task_id: str
    referral_id: str | None
    state: TaskState
    questions: tuple[str, ...]
    patient: str
    birth_date: str | None
    gender: str | None
    claim: str | None
    insurer: str | None
    employer: str | None
    requester: str
    requested_on: str | None  # Task.authoredOn as sent
    modality: Modality | None
    window: tuple[str | None, str | None]  # ServiceRequest.occurrencePeriod
    reasons: tuple[str, ...]
    scope: str
    service_request: str | None  # "ServiceRequest/<id>" at the clinic
    patient_reference: str | None
    overdue: bool

    @property
    def status_words(self) -> str:
        """The status as the physician reads it ("New", "Accepted", …)."""
        return STATUS_WORDS.get(self.state.status, self.state.status)

    @property
    def visit_type(self) -> str:
        """In person, Telehealth or Medical record review."""
        return MODALITY_DISPLAY[self.modality] if self.modality else "Not stated"

    @property
    def needs_visit_time(self) -> bool:
        """In person and telehealth: accepting records the visit's date and time."""
        return self.modality in ("in-person", "telehealth")


def answering_physician_from_resources(
    fhir_user: str, resources: Sequence[Mapping[str, Any]]
) -> AnsweringPhysician:
    """The physician from their Practitioner, PractitionerRoles and Organizations as read at the clinic."""
    by_reference = resources_by_reference(resources)
    user = by_reference.get(fhir_user, {})
    practitioner = fhir_user if fhir_user.startswith("Practitioner/") else reference_from_reference(
        user.get("practitioner"))  # fmt: skip
    roles = [r for r in resources if r.get("resourceType") == "PractitionerRole"
             and (reference_from_reference(r.get("practitioner")) == practitioner
                  or _reference(r) == fhir_user)]  # fmt: skip
    organizations = {
        org: _organization_name(by_reference.get(org), org)
        for role in roles
        if (org := reference_from_reference(role.get("organization")))
    }
    person = by_reference.get(practitioner or "", {})
    name = text_from_human_names(person.get("name"), with_titles=True) or "Second-opinion physician"
    role_references = tuple(_reference(role) for role in roles)
    return AnsweringPhysician(fhir_user, name, practitioner, role_references, organizations)


def owned_by(task: Mapping[str, Any], physician: AnsweringPhysician) -> bool:
    """Whether the Task's owner is this physician, one of their roles or one of their organizations."""
    return reference_from_reference(task.get("owner")) in physician.owners


def is_referral_task(task: Mapping[str, Any], ns: str) -> bool:
    """A Task of ours: it carries our referral identifier (docs/delivery.md, "Identifiers")."""
    system = identifier_system(ns, REFERRAL_IDENTIFIER_ID)
    return task.get("resourceType") == "Task" and any(
        i.get("system") == system for i in mappings_from_element(task.get("identifier")))  # fmt: skip


def incoming_from_task(
    task: Mapping[str, Any], resources: Resources, ns: str, today: date
) -> IncomingReferral:
    """The worklist row and page of one Task, from what the clinic holds about its referral."""
    state = task_state_from_task(task, ns)
    request = resources.get(reference_from_reference(task.get("focus")) or "", {})
    patient = resources.get(reference_from_reference(task.get("for")) or "", {})
    coverage = next((resources.get(ref, {}) for item in mappings_from_element(request.get("insurance"))
                     if (ref := reference_from_reference(item))), {})  # fmt: skip
    payors = mappings_from_element(coverage.get("payor"))
    period = mapping_from_element(request.get("occurrencePeriod"))
    requester = _display(task.get("requester")) or _display(request.get("requester"))
    reasons = mappings_from_element(request.get("reasonReference"))
    return IncomingReferral(
        task_id=str(task.get("id") or ""),
        referral_id=_referral_id(task, ns),
        state=state,
        questions=tuple(questions_from_task(task, ns)),
        patient=text_from_human_names(patient.get("name")) or _display(task.get("for")) or "Unnamed patient",
        birth_date=string_from_element(patient.get("birthDate")),
        gender=string_from_element(patient.get("gender")),
        claim=claim_number_from_coverage(coverage) if coverage else None,
        insurer=string_from_element(payors[0].get("display")) if payors else None,
        employer=_display(coverage.get("policyHolder")),
        requester=requester or "Referring physician",
        requested_on=string_from_element(task.get("authoredOn")),
        modality=modality_from_service_request(request),
        window=(string_from_element(period.get("start")), string_from_element(period.get("end"))),
        reasons=tuple(_reason_text(resources, reason) for reason in reasons),
        scope=_scope(request),
        service_request=reference_from_reference(task.get("focus")),
        patient_reference=reference_from_reference(task.get("for")),
        overdue=_overdue(state, today),
    )


def _overdue(state: TaskState, today: date) -> bool:
    """Past the due date (restriction.period.end) and not yet answered or closed."""
    if state.final or not state.due_by:
        return False
    try:
        return date.fromisoformat(state.due_by[:10]) < today
    except ValueError:
        return False


def _referral_id(task: Mapping[str, Any], ns: str) -> str | None:
    system = identifier_system(ns, REFERRAL_IDENTIFIER_ID)
    return next((string_from_element(i.get("value")) for i in mappings_from_element(task.get("identifier"))
                 if i.get("system") == system), None)  # fmt: skip


def _reason_text(resources: Resources, reason: Mapping[str, Any]) -> str:
    """The Condition's code text (or first display), else the reference's display."""
    condition = resources.get(reference_from_reference(reason) or "", {})
    code = mapping_from_element(condition.get("code"))
    codings = mappings_from_element(code.get("coding"))
    return (string_from_element(code.get("text")) or (string_from_element(codings[0].get("display"))
            if codings else None) or _display(reason) or "Unnamed condition")  # fmt: skip


def _scope(request: Mapping[str, Any]) -> str:
    """The scope note the ATP's ServiceRequest carries (its first note), else our statement."""
    notes = [string_from_element(n.get("text")) for n in mappings_from_element(request.get("note"))]
    return next((n for n in notes if n and not n.startswith("Question ")), SCOPE_STATEMENT)


def _organization_name(organization: Mapping[str, Any] | None, reference: str) -> str:
    return string_from_element((organization or {}).get("name")) or reference


def _display(element: Any) -> str | None:
    return string_from_element(mapping_from_element(element).get("display"))


def _reference(resource: Mapping[str, Any]) -> str:
    return reference_from_resource(resource)
