"""Patient-compartment checks for `patient/` scopes: the token's `patient` bounds what it reaches.

SMART App Launch 2.2: patient-level scopes give access to data *about the in-context patient*
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes).
Only the resource types below are checked, and Binary through its securityContext (the resource
that governs access to it: https://hl7.org/fhir/R4/binary.html#security); others
(Practitioner, Organization…) pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .fhir_request import FhirRequest

Lookup = Callable[[str, str], dict[str, Any] | None]

# resource type -> element holding the patient reference (R4 compartment definition, subset)
PATIENT_ELEMENT = {
    "Condition": "subject",
    "Coverage": "beneficiary",
    "Encounter": "subject",
    "ServiceRequest": "subject",
    "DocumentReference": "subject",
    "DiagnosticReport": "subject",
    "Observation": "subject",
    "Task": "for",
}
SEARCH_PARAMS = ("patient", "subject", "beneficiary")


class CompartmentViolation(Exception):
    """The interaction reaches outside the launch patient's compartment."""


def check_compartment(request: FhirRequest, patient: str, fhir_base: str, lookup: Lookup) -> None:
    """Raise CompartmentViolation unless the request stays within Patient/{patient}."""
    if not patient:
        raise CompartmentViolation("The token has patient scopes but no patient context")
    if request.resource_type == "Patient":
        _check_patient(request, patient, fhir_base)
    elif request.resource_type in PATIENT_ELEMENT:
        _check_compartment_type(request, patient, fhir_base, lookup)
    elif request.resource_type == "Binary":
        _check_binary(request, patient, fhir_base, lookup)


def refers_to(value: str, patient: str, fhir_base: str) -> bool:
    """Whether a reference or search value names the patient (`ID`, `Patient/ID`, absolute)."""
    return value in (patient, f"Patient/{patient}", f"{fhir_base}/Patient/{patient}")


def _check_patient(request: FhirRequest, patient: str, fhir_base: str) -> None:
    """Patient reads must be the launch patient; searches must pin `_id` to it."""
    if request.is_search:
        values = [v for k, v in request.params if k == "_id"]
        if not values or not all(_all_refer(v, patient, fhir_base) for v in values):
            raise CompartmentViolation("Patient searches must set _id to the launch patient")
    elif request.resource_id != patient:
        raise CompartmentViolation("Only the launch patient may be accessed")


def _check_compartment_type(
    request: FhirRequest, patient: str, fhir_base: str, lookup: Lookup
) -> None:
    """Searches must name the patient; reads/writes must concern a resource of the patient."""
    element = PATIENT_ELEMENT[request.resource_type]
    if request.is_search:
        values = [v for k, v in request.params if k.split(":")[0] in SEARCH_PARAMS]
        if not values or not all(_all_refer(v, patient, fhir_base) for v in values):
            raise CompartmentViolation("Searches must be limited to the launch patient")
        return
    if request.method in ("POST", "PUT"):
        _check_body(request.body, element, patient, fhir_base)
    if request.resource_id and request.method != "POST":
        existing = lookup(request.resource_type, request.resource_id)
        if existing is not None:
            _check_body(existing, element, patient, fhir_base)
    if request.method == "PATCH":
        _check_patch(request.body, element)


def _check_binary(request: FhirRequest, patient: str, fhir_base: str, lookup: Lookup) -> None:
    """A Binary is the patient's when its securityContext is a resource of the patient."""
    binary = request.body if request.method in ("POST", "PUT") else None
    if binary is None and request.resource_id and not request.is_search:
        binary = lookup("Binary", request.resource_id)
        if binary is None:
            return  # sekmet answers 404
    context = (binary or {}).get("securityContext") if isinstance(binary, dict) else None
    kind, _, resource_id = str((context or {}).get("reference", "")).partition("/")
    governing = lookup(kind, resource_id) if kind in PATIENT_ELEMENT and resource_id else None
    if governing is None:
        raise CompartmentViolation("Binary needs a securityContext in the launch patient's record")
    _check_body(governing, PATIENT_ELEMENT[kind], patient, fhir_base)


def _check_body(resource: Any, element: str, patient: str, fhir_base: str) -> None:
    """The resource's patient element must reference the launch patient."""
    ref = resource.get(element) if isinstance(resource, dict) else None
    value = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(value, str) or not refers_to(value, patient, fhir_base):
        raise CompartmentViolation(f"{element} must reference the launch patient")


def _check_patch(body: Any, element: str) -> None:
    """A JSON Patch must not move the resource to another patient."""
    ops = body if isinstance(body, list) else None
    if ops is None or any(str(op.get("path", "")).startswith(f"/{element}") for op in ops
                          if isinstance(op, dict)):
        raise CompartmentViolation(f"Patches must be JSON Patch and leave {element} unchanged")


def _all_refer(value: str, patient: str, fhir_base: str) -> bool:
    """Every comma-separated alternative in a search value names the patient."""
    return all(refers_to(v, patient, fhir_base) for v in value.split(","))
