"""The second-opinion referral as a FHIR R4 ServiceRequest (DESIGN §3, CODES.md §1-§3).

https://hl7.org/fhir/R4/servicerequest.html; aligned with US Core ServiceRequest and the
BSeR referral ServiceRequest (identifier PLAC, intent order).
"""

import re
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.servicerequest import ServiceRequest

from fhir_mappings.codes import (
    EVALUATION_PROCEDURE,
    MODALITY_DISPLAY,
    MODALITY_SYSTEM_ID,
    MODALITY_TRANSLATION,
    OCCUPATIONAL_MEDICINE_PHYSICIAN,
    OPINION_ONLY_CODE,
    OPINION_ONLY_DISPLAY,
    OUTPATIENT_FACILITY,
    PATIENT_REFERRAL,
    PLACER_IDENTIFIER,
    REFERRAL_IDENTIFIER_ID,
    SCOPE_STATEMENT,
    SECOND_OPINION_CATEGORY,
    SECOND_OPINION_CODE,
    SECOND_OPINION_DISPLAY,
    SECOND_OPINION_SYSTEM_ID,
    identifier_system,
    local_system,
)
from fhir_mappings.domain import Referral
from fhir_mappings.element import mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
_QUESTION_PREFIX = re.compile(r"^Question \d+ of \d+: ")
_SEARCH_ESCAPES = re.compile(r"([\\|,$])")  # https://hl7.org/fhir/R4/search.html#escaping


def service_request_from_referral(referral: Referral, ns: str) -> dict[str, Any]:
    """The ServiceRequest of DESIGN §3, validated with the R4B model; MappingError if it fails."""
    if not referral.questions:
        raise MappingError("a referral needs at least one question")
    if referral.modality not in MODALITY_DISPLAY:
        raise MappingError(f"unknown modality: {referral.modality!r}")
    resource: dict[str, Any] = _pruned(
        {
            "resourceType": "ServiceRequest",
            "text": {"status": "generated", "div": div_from_referral(referral)},
            "identifier": [_identifier_from_referral(referral, ns)],
            "status": "active",
            "intent": "order",
            "category": [
                {"coding": [EVALUATION_PROCEDURE.coding()]},
                {"coding": [SECOND_OPINION_CATEGORY.coding()]},
            ],
            "priority": "routine",
            "code": _code_from_referral(ns),
            "orderDetail": _order_detail_from_referral(referral, ns),
            "subject": {"reference": referral.patient.reference, "display": referral.patient.name},
            "authoredOn": _authored_on_from_referral(referral),
            "requester": _requester_reference(referral),
            "performerType": _performer_type_from_referral(referral),
            "performer": [_performer_from_referral(referral)],
            "locationCode": _location_codes_from_referral(referral),
            "reasonReference": [
                {"reference": reason.reference, "display": reason.text}
                for reason in referral.reasons
            ],
            "insurance": [{"reference": referral.coverage.reference}] if referral.coverage else [],
            "note": _notes_from_referral(referral),
        }
    )
    return _validated(resource)


def _performer_type_from_referral(referral: Referral) -> dict[str, Any]:
    """NUCC occupational medicine only when the chosen physician is one: the type must not contradict
    the performer (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.performerType)."""
    if not referral.physician.occupational_medicine:
        return {}
    coding = OCCUPATIONAL_MEDICINE_PHYSICIAN.coding()
    return {"coding": [coding], "text": OCCUPATIONAL_MEDICINE_PHYSICIAN.display}


def identifier_search_from_referral_id(referral_id: str, ns: str) -> str:
    """The ``system|value`` token that finds our referral (https://hl7.org/fhir/R4/search.html#escaping)."""
    value = _SEARCH_ESCAPES.sub(r"\\\1", referral_id)
    return f"{identifier_system(ns, REFERRAL_IDENTIFIER_ID)}|{value}"


def if_none_exist_from_referral(referral: Referral, ns: str) -> str:
    """The If-None-Exist query for a conditional create (https://hl7.org/fhir/R4/http.html#ccreate)."""
    system, _, value = identifier_search_from_referral_id(referral.id, ns).partition("|")
    return f"identifier={quote(system, safe='')}|{quote(value, safe='')}"


def questions_from_service_request(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """The questions read back from the notes "Question i of n: …"; the scope note is skipped."""
    notes = mappings_from_element(resource.get("note"))
    texts = (string_from_element(note.get("text")) for note in notes)
    return tuple(
        _QUESTION_PREFIX.sub("", text, count=1)
        for text in texts
        if text is not None and _QUESTION_PREFIX.match(text)
    )


def div_from_referral(referral: Referral) -> str:
    """The generated narrative, free text escaped (https://hl7.org/fhir/R4/narrative.html#Narrative.div)."""
    rows = [
        ("Patient", referral.patient.name),
        ("Requested by", referral.requester.display or referral.requester.reference),
        ("Second opinion from", _performer_display(referral)),
        ("Modality", MODALITY_DISPLAY[referral.modality]),
        ("Reasons", "; ".join(reason.text for reason in referral.reasons)),
        ("Scope", SCOPE_STATEMENT),
    ]
    paragraphs = "".join(
        f"<p><b>{escape(label)}:</b> {escape(value)}</p>" for label, value in rows if value
    )
    items = "".join(f"<li>{escape(question)}</li>" for question in referral.questions)
    return (
        f'<div xmlns="{XHTML_NAMESPACE}"><h2>{escape(SECOND_OPINION_DISPLAY)}</h2>'
        f"{paragraphs}<p><b>Questions:</b></p><ol>{items}</ol></div>"
    )


def _identifier_from_referral(referral: Referral, ns: str) -> dict[str, Any]:
    """Our placer identifier, the idempotency key (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.identifier)."""
    return {
        "use": "official",
        "type": {"coding": [PLACER_IDENTIFIER.coding()]},
        "system": identifier_system(ns, REFERRAL_IDENTIFIER_ID),
        "value": referral.id,
    }


def _code_from_referral(ns: str) -> dict[str, Any]:
    """SNOMED "Patient referral" as BSeR does, plus our local code (CODES.md §2)."""
    local = {
        "system": local_system(ns, SECOND_OPINION_SYSTEM_ID),
        "code": SECOND_OPINION_CODE,
        "display": SECOND_OPINION_DISPLAY,
    }
    return {"coding": [PATIENT_REFERRAL.coding(), local], "text": SECOND_OPINION_DISPLAY}


def _order_detail_from_referral(referral: Referral, ns: str) -> list[dict[str, Any]]:
    """Scope then modality (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.orderDetail)."""
    scope = {
        "system": local_system(ns, SECOND_OPINION_SYSTEM_ID),
        "code": OPINION_ONLY_CODE,
        "display": OPINION_ONLY_DISPLAY,
    }
    modality = {
        "system": local_system(ns, MODALITY_SYSTEM_ID),
        "code": referral.modality,
        "display": MODALITY_DISPLAY[referral.modality],
    }
    translation = MODALITY_TRANSLATION.get(referral.modality)
    return [
        {"coding": [scope], "text": OPINION_ONLY_DISPLAY},
        {
            "coding": [modality, *([translation.coding()] if translation else [])],
            "text": MODALITY_DISPLAY[referral.modality],
        },
    ]


def _location_codes_from_referral(referral: Referral) -> list[dict[str, Any]]:
    """A place type, so only for in person (CODES.md §3; v3 ServiceDeliveryLocationRoleType)."""
    if referral.modality != "in-person":
        return []
    return [{"coding": [OUTPATIENT_FACILITY.coding()]}]


def _notes_from_referral(referral: Referral) -> list[dict[str, Any]]:
    """The scope statement, then "Question i of n: …" (https://hl7.org/fhir/R4/datatypes.html#Annotation)."""
    count = len(referral.questions)
    texts = [SCOPE_STATEMENT] + [
        f"Question {number} of {count}: {question}"
        for number, question in enumerate(referral.questions, start=1)
    ]
    author = _requester_reference(referral)
    time = _authored_on_from_referral(referral)
    return [{"authorReference": author, "time": time, "text": text} for text in texts]


def _requester_reference(referral: Referral) -> dict[str, str]:
    reference = {"reference": referral.requester.reference}
    if referral.requester.display:
        reference["display"] = referral.requester.display
    return reference


def _performer_from_referral(referral: Referral) -> dict[str, str]:
    return {"reference": referral.physician.role_reference, "display": _performer_display(referral)}


def _performer_display(referral: Referral) -> str:
    clinic = referral.physician.clinic
    return f"{referral.physician.name} — {clinic.name}" if clinic else referral.physician.name


def _authored_on_from_referral(referral: Referral) -> str:
    """authoredOn with its offset: a FHIR dateTime with a time SHALL have a zone (https://hl7.org/fhir/R4/datatypes.html#dateTime)."""
    if referral.authored_on.utcoffset() is None:
        raise MappingError("authored_on must be timezone-aware")
    rendered = referral.authored_on.isoformat()
    return rendered[: -len("+00:00")] + "Z" if rendered.endswith("+00:00") else rendered


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, once the R4B model accepts it (our output is strict)."""
    try:
        ServiceRequest.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the ServiceRequest is not valid FHIR R4: {error}") from error
    return resource


def _pruned(value: Any) -> Any:
    """The JSON without None, "", [] or {} (ele-1: https://hl7.org/fhir/R4/element.html#invs)."""
    if isinstance(value, dict):
        pruned = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        items = [_pruned(item) for item in value]
        return [item for item in items if item not in (None, "", [], {})]
    return value
