"""Where a referral goes: the chosen physician's registered Endpoint, and what the outbox keeps.

The Endpoint is the chosen PractitionerRole's, else its Organization's
(https://hl7.org/fhir/R4/practitionerrole-definitions.html#PractitionerRole.endpoint).
An Endpoint that no receiver registration names is refused before anything is
sent, and never contacted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from fhir_mappings.domain import Clinic, Referral
from fhir_mappings.letter import Contact, contact_from_mapping, receiver_from_physician, sender_from_requester
from fhir_mappings.transaction import transaction_from_referral
from smart_app.errors import ReferralInvalid
from smart_app.referrals.outbox import NewDelivery
from smart_app.referrals.receivers import Receiver, receiver_for


def receiver_for_referral(referral: Referral, receivers: Mapping[str, Receiver]) -> Receiver:
    """The registered receiver of the physician's clinic; ReferralInvalid in plain words if none."""
    clinic = referral.physician.clinic
    endpoint = clinic.endpoint if clinic else None
    receiver = receiver_for(dict(receivers), endpoint)
    if receiver is not None:
        return receiver
    who = clinic.name if clinic else referral.physician.name
    if not endpoint:
        raise ReferralInvalid(
            f"{who} has no electronic address (FHIR endpoint) in the directory, "
            "so Second Opinion cannot deliver a referral there.",
            "Choose another physician; nothing was sent.",
        )
    raise ReferralInvalid(
        f"The electronic address of {who} ({endpoint}) is not registered with Second Opinion, "
        "so the referral would not be delivered. Second Opinion has not contacted it.",
        "Choose another physician, or ask your administrator to register this clinic; nothing was sent.",
    )


def new_delivery(
    referral: Referral,
    receiver: Receiver,
    *,
    iss: str,
    fhir_user: str,
    service_request_id: str,
    namespace: str,
    records: Sequence[Mapping[str, Any]] = (),
    service_request: Mapping[str, Any] | None = None,
) -> NewDelivery:
    """The outbox row's content: the transaction Bundle is built once, here.

    ``records`` are the shared records as read at send time (smart_app/chart/records.py);
    ``service_request`` the ServiceRequest written to the EHR, reused (not built again) in the Bundle.
    """

    def entry_url(name: str) -> str:
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{namespace}/referral/{referral.id}/{name}')}"

    return NewDelivery(
        referral_id=referral.id,
        iss=iss,
        fhir_user=fhir_user,
        service_request_id=service_request_id,
        patient_reference=referral.patient.reference,
        summary=summary_from_referral(referral, receiver),
        receiver_url=receiver.base_url,
        payload=transaction_from_referral(referral, namespace, iss, entry_url, records, service_request),
        replaces=referral.replaces.referral_id if referral.replaces else None,
    )


def summary_from_referral(referral: Referral, receiver: Receiver) -> dict[str, Any]:
    """What the referral's pages, the filing's Provenance and a re-route need, kept (sealed) in the outbox,
    so that no page depends on the launch's patient and nothing is retyped."""
    physician, clinic = referral.physician, referral.physician.clinic
    requester = referral.requester
    organization = requester.organization
    return {
        "patient": referral.patient.name,
        "physician": physician.name,
        "clinic": clinic.name if clinic else None,
        "questions": list(referral.questions),
        "receiver": receiver.name,
        "performer": {"reference": physician.role_reference, "display": physician.name,
                      "clinic": _clinic(clinic)},  # fmt: skip
        "requester": {"reference": requester.reference, "display": requester.display,
                      "organization": _clinic(organization)},  # fmt: skip
        "modality": referral.modality,
        "reasons": [reason.reference for reason in referral.reasons],
        "records": [{"reference": r.reference, "kind": r.kind, "title": r.title} for r in referral.records],
        "window": list(referral.window) if referral.window else None,
        "due_by": referral.due_by.isoformat() if referral.due_by else None,
        "contacts": {  # the letter's "From" and how to answer; the visit's address and phone
            "sender": asdict(sender_from_requester(requester)),
            "receiver": asdict(receiver_from_physician(physician)),
        },
    }


def contacts_from_summary(summary: Mapping[str, Any]) -> tuple[Contact | None, Contact | None]:
    """(sender, receiver) as kept; None for a referral sent before the outbox kept them."""
    contacts = summary.get("contacts")
    kept = contacts if isinstance(contacts, Mapping) else {}
    return contact_from_mapping(kept.get("sender")), contact_from_mapping(kept.get("receiver"))


def _clinic(clinic: Clinic | None) -> dict[str, str] | None:
    return {"reference": clinic.reference, "name": clinic.name} if clinic else None
