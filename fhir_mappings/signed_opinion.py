"""The signed second opinion at the clinic: the letter's content, its DocumentReference, its Provenance.

The letter is a PDF in a DocumentReference (https://hl7.org/fhir/R4/documentreference.html), type
LOINC 11488-4 "Consult note" and category ``clinical-note`` as US Core clinical notes, author and
authenticator the physician, ``context.related`` → the ServiceRequest; a conditional create on
``{ns}/sid/opinion|<referral id>`` makes a repeated signing find the first one. The Provenance
(https://hl7.org/fhir/R4/provenance.html) names the physician as author with an "Author's
Signature" (ASTM E1762-95) and the app as composer, each on behalf of the physician's Organization.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.provenance import Provenance

from fhir_mappings.codes import (
    AUTHOR,
    AUTHOR_SIGNATURE,
    CLINICAL_NOTE,
    COMPOSER,
    CONSULT_NOTE,
    DEVICE_IDENTIFIER_ID,
    OPINION_IDENTIFIER_ID,
    UPDATE,
    identifier_system,
)
from fhir_mappings.domain import Conclusion
from fhir_mappings.errors import MappingError
from fhir_mappings.provenance import APP_DEVICE_DISPLAY, APP_DEVICE_ID

ATTESTATION = (
    "I render an opinion only, in answer to the questions above. I do not assume the care of this "
    "patient and I do not co-manage this case; the referring physician remains in charge of care."
)
LETTER_TITLE = "Second opinion"


@dataclass(frozen=True)
class OpinionLetter:
    """What the signed letter says, in print order."""

    referral_id: str
    patient: str
    birth_date: str | None
    claim: str | None
    requester: str
    physician: str
    clinic: str | None
    visit_type: str
    visit: str | None  # as the physician's zone shows it
    reasons: tuple[str, ...]
    scope: str
    answered: tuple[tuple[str, str], ...]  # (question, answer) in the ATP's order
    conclusion: Conclusion
    signed: str  # date and time of signing, in the physician's zone


def letter_header_rows(letter: OpinionLetter) -> list[tuple[str, str]]:
    """The letter's labelled header lines, skipping what is unknown."""
    patient = f"{letter.patient} (born {letter.birth_date})" if letter.birth_date else letter.patient
    physician = f"{letter.physician}, {letter.clinic}" if letter.clinic else letter.physician
    rows = [
        ("Referral number", letter.referral_id),
        ("Patient", patient),
        ("Workers' compensation claim", letter.claim),
        ("Referring physician", letter.requester),
        ("Second-opinion physician", physician),
        ("Visit type", letter.visit_type),
        ("Visit", letter.visit),
        ("Reason for referral", "; ".join(letter.reasons) or None),
        ("Signed", letter.signed),
    ]
    return [(label, value) for label, value in rows if value]


def letter_document(
    *, referral_id: str, task: Mapping[str, Any], author: Mapping[str, str], pdf_base64: str,
    signed_at: str, ns: str,
) -> dict[str, Any]:
    """The signed letter as a DocumentReference at the clinic, validated with the R4B model."""
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": identifier_system(ns, OPINION_IDENTIFIER_ID), "value": referral_id}],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [CONSULT_NOTE.coding()], "text": LETTER_TITLE},
        "category": [{"coding": [CLINICAL_NOTE.coding()]}],
        "subject": dict(task.get("for") or {}),
        "date": signed_at,
        "author": [dict(author)],
        "authenticator": dict(author),
        "description": "Second opinion (opinion only), signed by the second-opinion physician",
        "content": [{"attachment": {"contentType": "application/pdf", "data": pdf_base64,
                                    "title": f"Second opinion {referral_id}.pdf", "creation": signed_at}}],
        "context": {"related": [dict(task["focus"])]} if isinstance(task.get("focus"), dict) else None,
    }
    return _validated(DocumentReference, {k: v for k, v in resource.items() if v})


def signing_provenance(
    *, targets: Sequence[str], author: Mapping[str, str], organization: tuple[str, str] | None,
    signed_at: str, ns: str,
) -> dict[str, Any]:
    """The Provenance of the signed opinion: the physician signs, the app composes."""
    on_behalf_of: dict[str, Any] = {}
    if organization:  # US Core provenance-1: onBehalfOf when the agent is a Practitioner or Device
        on_behalf_of = {"onBehalfOf": {"reference": organization[0], "display": organization[1]}}
    device = {"type": "Device", "display": APP_DEVICE_DISPLAY,
              "identifier": {"system": identifier_system(ns, DEVICE_IDENTIFIER_ID), "value": APP_DEVICE_ID}}
    resource = {
        "resourceType": "Provenance",
        "target": [{"reference": target} for target in targets],
        "recorded": signed_at,
        "activity": {"coding": [UPDATE.coding()]},
        "agent": [
            {"type": {"coding": [AUTHOR.coding()]}, "who": dict(author), **on_behalf_of},
            {"type": {"coding": [COMPOSER.coding()]}, "who": device, **on_behalf_of},
        ],
        "signature": [{"type": [AUTHOR_SIGNATURE.coding()], "when": signed_at, "who": dict(author)}],
    }
    return _validated(Provenance, resource)


def _validated(model: type[DocumentReference] | type[Provenance], resource: dict[str, Any]) -> dict[str, Any]:
    try:
        model.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the {resource['resourceType']} is not valid FHIR R4: {error}") from error
    return resource
