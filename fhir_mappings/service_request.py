"""The second-opinion referral as a FHIR R4 ServiceRequest (docs/fhir-mapping.md §1-§3).

https://hl7.org/fhir/R4/servicerequest.html; aligned with US Core ServiceRequest and the
BSeR referral ServiceRequest (identifier PLAC, intent order).
"""

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

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
from fhir_mappings.element import mappings_from_element, pruned_element, string_from_element
from fhir_mappings.errors import MappingError
from fhir_mappings.identifier_search import if_none_exist_from_identifier, token_from_identifier
from fhir_mappings.text import text_without_forbidden_characters

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
_QUESTION_PREFIX = re.compile(r"^Question \d+ of \d+: ")
DUE_NOTE_PREFIX = "Opinion needed by "
_DUE_NOTE = re.compile(r"Opinion needed by ([0-9]{4}-[0-9]{2}-[0-9]{2})\.")  # fullmatch


def service_request_from_referral(referral: Referral, ns: str) -> dict[str, Any]:
    """The ServiceRequest of docs/fhir-mapping.md, validated with the R4B model; MappingError if it fails."""
    if not referral.questions:
        raise MappingError("a referral needs at least one question")
    if referral.modality not in MODALITY_DISPLAY:
        raise MappingError(f"unknown modality: {referral.modality!r}")
    resource: dict[str, Any] = pruned_element(
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
            "encounter": {"reference": referral.encounter} if referral.encounter else {},
            "occurrencePeriod": (
                {"start": referral.window[0], "end": referral.window[1]} if referral.window else {}
            ),
            "authoredOn": _authored_on_from_referral(referral),
            "requester": _requester_reference(referral),
            "performerType": _performer_type_from_referral(referral),
            "performer": [_performer_from_referral(referral)],
            "locationCode": _location_codes_from_referral(referral),
            "reasonReference": [
                {"reference": reason.reference, "display": reason.text}
                for reason in referral.reasons
            ],
            "insurance": [_insurance_from_referral(referral)] if referral.coverage else [],
            "supportingInfo": [
                {"reference": record.reference, "display": record.title}
                for record in referral.records
            ],
            "note": _notes_from_referral(referral),
            "replaces": [_replaces_from_referral(referral, ns)] if referral.replaces else [],
        }
    )
    return _validated(resource)


def _replaces_from_referral(referral: Referral, ns: str) -> dict[str, Any]:
    """The declined referral this one is sent instead of, by reference and by our identifier
    (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.replaces)."""
    assert referral.replaces is not None
    system = identifier_system(ns, REFERRAL_IDENTIFIER_ID)
    identifier = {"system": system, "value": referral.replaces.referral_id}
    return {"reference": referral.replaces.service_request, "identifier": identifier}


def _performer_type_from_referral(referral: Referral) -> dict[str, Any]:
    """NUCC occupational medicine only when the chosen physician is one: the type must not contradict
    the performer (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.performerType)."""
    if not referral.physician.occupational_medicine:
        return {}
    coding = OCCUPATIONAL_MEDICINE_PHYSICIAN.coding()
    return {"coding": [coding], "text": OCCUPATIONAL_MEDICINE_PHYSICIAN.display}


def identifier_search_from_referral_id(referral_id: str, ns: str) -> str:
    """The ``system|value`` token that finds our referral (https://hl7.org/fhir/R4/search.html#escaping)."""
    return token_from_identifier(identifier_system(ns, REFERRAL_IDENTIFIER_ID), referral_id)


def if_none_exist_from_referral_id(referral_id: str, ns: str) -> str:
    """The If-None-Exist query that keys a create on our referral id (https://hl7.org/fhir/R4/http.html#ccreate)."""
    return if_none_exist_from_identifier(identifier_system(ns, REFERRAL_IDENTIFIER_ID), referral_id)


def if_none_exist_from_referral(referral: Referral, ns: str) -> str:
    """The If-None-Exist query for the referral's ServiceRequest."""
    return if_none_exist_from_referral_id(referral.id, ns)


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
        ("Requested window", " to ".join(referral.window) if referral.window else ""),
        ("Claim", _claim_from_referral(referral)),
        ("Reasons", "; ".join(reason.text for reason in referral.reasons)),
        ("Records shared", "; ".join(record.title for record in referral.records)),
        ("Opinion needed by", referral.due_by.isoformat() if referral.due_by else ""),
        ("Scope", SCOPE_STATEMENT),
    ]
    paragraphs = "".join(
        f"<p><b>{escape(label)}:</b> {_xhtml_text(value)}</p>" for label, value in rows if value
    )
    items = "".join(f"<li>{_xhtml_text(question)}</li>" for question in referral.questions)
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
    """SNOMED "Patient referral" as BSeR does, plus our local code (docs/fhir-mapping.md §2)."""
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
    """A place type, so only for in person (docs/fhir-mapping.md §3; v3 ServiceDeliveryLocationRoleType)."""
    if referral.modality != "in-person":
        return []
    return [{"coding": [OUTPATIENT_FACILITY.coding()]}]


def note_texts_from_questions(questions: Sequence[str], due_by: date | None = None) -> list[str]:
    """What the receiving physician reads: the scope, "Question i of n: …", then the due date (the
    preview shows it). R4 ServiceRequest has no due-date element: the Task carries it as
    ``restriction.period.end``, and this note says it to a person."""
    count = len(questions)
    due = [f"{DUE_NOTE_PREFIX}{due_by.isoformat()}."] if due_by else []
    return [SCOPE_STATEMENT] + [
        f"Question {number} of {count}: {question}"
        for number, question in enumerate(questions, start=1)
    ] + due


def due_by_from_service_request(resource: Mapping[str, Any]) -> date | None:
    """The "Opinion needed by YYYY-MM-DD." note read back, None when there is none or it is not a date."""
    for note in mappings_from_element(resource.get("note")):
        match = _DUE_NOTE.fullmatch(string_from_element(note.get("text")) or "")
        if match:
            try:
                return date.fromisoformat(match[1])
            except ValueError:
                return None
    return None


def _notes_from_referral(referral: Referral) -> list[dict[str, Any]]:
    """The scope statement, then the questions (https://hl7.org/fhir/R4/datatypes.html#Annotation)."""
    texts = note_texts_from_questions(referral.questions, referral.due_by)
    author = _requester_reference(referral)
    time = _authored_on_from_referral(referral)
    return [{"authorReference": author, "time": time, "text": text} for text in texts]


def _insurance_from_referral(referral: Referral) -> dict[str, str]:
    """The workers' comp Coverage (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.insurance)."""
    assert referral.coverage is not None
    claim = _claim_from_referral(referral)
    return {"reference": referral.coverage.reference, "display": claim}


def _claim_from_referral(referral: Referral) -> str:
    """"Claim WC-1 · Insurer · Employer · injured 2025-11-03" from what the chart holds."""
    coverage = referral.coverage
    if coverage is None:
        return ""
    injury = coverage.injury_date or min((r.onset[:10] for r in referral.reasons if r.onset), default=None)
    parts = [
        f"Claim {coverage.claim_number}" if coverage.claim_number else "Workers' compensation",
        coverage.insurer or "",
        f"employer {coverage.employer}" if coverage.employer else "",
        f"date of injury {injury}" if injury else "",
    ]
    return " · ".join(part for part in parts if part)


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
    """The resource, once its narrative parses as XHTML and the R4B model accepts it (strict output)."""
    try:
        ElementTree.fromstring(resource["text"]["div"])
    except ElementTree.ParseError as error:
        raise MappingError(f"the narrative is not well-formed XHTML: {error}") from error
    try:
        ServiceRequest.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the ServiceRequest is not valid FHIR R4: {error}") from error
    return resource


def _xhtml_text(value: str) -> str:
    """Escaped text XHTML can carry (https://www.w3.org/TR/xml/#charsets)."""
    return escape(text_without_forbidden_characters(value))
