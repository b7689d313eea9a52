"""File the returned opinion to the EHR chart and move the EHR's ServiceRequest on, each with its Provenance.

What is written follows the referral's lifecycle (``ehr_outcome_from_task_status``): a completed
Task files the opinion (DocumentReference) and completes the order; a declined or cancelled one
only revokes the order. With a Backend Services client in the EHR's registration the worker files
at once; otherwise the opinion waits and is filed with the ATP's own token at their next launch for
that patient (the referral's page says so). Both paths are idempotent: the DocumentReference is a
conditional create on the referral identifier, and the order is changed only if it differs.

Each write carries a Provenance in the same transaction where the server allows it; a server that
takes no transaction, or refuses the Provenance (403), gets the write alone (logged, no PHI).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fhir_mappings.bundle import transaction_from_creates
from fhir_mappings.domain import Clinic, Requester
from fhir_mappings.opinion import Opinion, answers_text_from_opinion, document_reference_from_opinion
from fhir_mappings.provenance import provenance_from_filing, provenance_from_status_change
from fhir_mappings.referral_lifecycle import EhrOutcome, ehr_outcome_from_task_status
from fhir_mappings.service_request import if_none_exist_from_referral_id
from fhir_mappings.task import task_state_from_task
from smart_app.chart.fhir_client import FhirClient, TransactionUnsupported
from smart_app.errors import EhrError, EhrForbidden
from smart_app.store import DeliveryEvent, DeliveryRecord, Store, for_patient

logger = logging.getLogger(__name__)


class Filing:
    """Writes closed referrals' outcomes to the EHR, once."""

    def __init__(self, store: Store, namespace: str, clock: Callable[[], datetime]) -> None:
        self._store, self._ns, self._clock = store, namespace, clock

    def awaiting(self, fhir_user: str, iss: str, patient_reference: str) -> list[str]:
        """Referral ids of this ATP and patient whose outcome waits for a launch.

        The patient reference is sealed at rest, so the patient is matched here, not in SQL.
        """
        with self._store.reading() as db:
            rows = db.execute(
                select(DeliveryRecord.id, DeliveryRecord.patient_reference).where(
                    for_patient(db, iss, patient_reference),
                    DeliveryRecord.fhir_user == fhir_user,
                    DeliveryRecord.filing == "awaiting-launch",
                )
            ).all()
        return [referral_id for referral_id, patient in rows if patient == patient_reference]

    def file_awaiting(self, client: FhirClient, iss: str, fhir_user: str, patient_reference: str) -> int:
        """File, with the ATP's own ``client``, what waited for this ATP and patient; how many were filed."""
        awaiting = self.awaiting(fhir_user, iss, patient_reference)
        return sum(self.file(client, referral_id) for referral_id in awaiting)

    def file(self, client: FhirClient, referral_id: str) -> bool:
        """File one outcome with ``client``; False (and it keeps waiting) if the EHR refuses."""
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id)
            if row is None or row.filing != "awaiting-launch":
                return False
            result, summary = json.loads(row.result_json or "{}"), json.loads(row.summary_json)
            outcome = ehr_outcome_from_task_status(str(result.get("status", "")))
            opinion = self._opinion(row, result, summary)
        try:
            wrote = self._write(client, opinion, outcome, summary) if outcome else False
        except EhrError as error:
            logger.warning("opinion.filing_failed id=%s error=%s", referral_id, type(error).__name__)
            return False
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is not None and row.filing == "awaiting-launch":
                row.filing = "filed"
                if wrote and outcome is not None:
                    event = DeliveryEvent(delivery_id=referral_id, at=self._clock(), kind=outcome.event)
                    db.add(event)
        logger.info("opinion.filed id=%s", referral_id)
        return True

    def _opinion(self, row: DeliveryRecord, result: Mapping[str, Any], summary: Mapping[str, Any]) -> Opinion:
        """The opinion as the clinic returned it: answers, the conclusion from the Task, the letter."""
        task = task_state_from_task(json.loads(row.task_json), self._ns) if row.task_json else None
        return Opinion(
            referral_id=row.id, patient_reference=row.patient_reference,
            service_request_id=row.service_request_id, questions=tuple(summary.get("questions") or ()),
            answers=tuple(result.get("answers") or ()), date=_instant(self._clock()),
            letter=result.get("opinion"), conclusion=task.conclusion if task else None,
        )  # fmt: skip

    def _write(
        self, client: FhirClient, opinion: Opinion, outcome: EhrOutcome, summary: Mapping[str, Any]
    ) -> bool:
        """The DocumentReference (completed only), then the order's status; True if anything was written."""
        requester = requester_from_summary(summary)
        wrote = False
        if outcome.document:
            text = base64.b64encode(answers_text_from_opinion(opinion).encode()).decode()
            document = document_reference_from_opinion(opinion, self._ns, text)
            performer = summary.get("performer") or {}
            who = {k: str(performer[k]) for k in ("reference", "display") if performer.get(k)}
            clinic = _clinic(performer.get("clinic"))
            condition = if_none_exist_from_referral_id(opinion.referral_id, self._ns)

            def filing_provenance(target: str) -> dict[str, Any] | None:
                if not who or requester is None:
                    return None
                return provenance_from_filing(target, who, clinic, requester, opinion.date, self._ns)

            _create_with_provenance(client, document, condition, filing_provenance)
            wrote = True
        if outcome.service_request_status is None:
            return wrote
        service_request = client.read("ServiceRequest", opinion.service_request_id)
        if service_request.get("status") == outcome.service_request_status:
            return wrote
        updated = {**service_request, "status": outcome.service_request_status}
        provenance = None
        if requester is not None:
            target = f"ServiceRequest/{opinion.service_request_id}"
            provenance = provenance_from_status_change(target, requester, opinion.date, self._ns)
        update_with_provenance(client, updated, provenance)
        return True


def update_with_provenance(
    client: FhirClient, resource: Mapping[str, Any], provenance: Mapping[str, Any] | None
) -> None:
    """PUT the resource and POST its Provenance in one transaction; the update alone if the server
    takes no transaction or refuses the Provenance."""
    if provenance is not None and not client.no_transaction:
        url = f"{resource['resourceType']}/{resource['id']}"
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": dict(resource), "request": {"method": "PUT", "url": url}},
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": dict(provenance),
             "request": {"method": "POST", "url": "Provenance"}},
        ]}  # fmt: skip
        try:
            client.transaction(bundle)
            return
        except (TransactionUnsupported, EhrForbidden):
            logger.info("ehr.update_without_provenance type=%s", resource["resourceType"])
    client.update(resource)


def _create_with_provenance(
    client: FhirClient,
    resource: Mapping[str, Any],
    condition: str,
    provenance_for: Callable[[str], dict[str, Any] | None],
) -> None:
    """A conditional create and its Provenance (targeting its urn:uuid) in one transaction, else alone."""
    full_url = f"urn:uuid:{uuid.uuid4()}"
    provenance = provenance_for(full_url)
    if provenance is not None and not client.no_transaction:
        bundle = transaction_from_creates([(full_url, resource, condition),
                                           (f"urn:uuid:{uuid.uuid4()}", provenance, None)])  # fmt: skip
        try:
            client.transaction(bundle)
            return
        except (TransactionUnsupported, EhrForbidden):
            logger.info("ehr.create_without_provenance type=%s", resource["resourceType"])
    client.create(resource, condition)


def requester_from_summary(summary: Mapping[str, Any]) -> Requester | None:
    """The ATP as the outbox kept them (rows queued before they were kept have none: no Provenance)."""
    found = summary.get("requester") or {}
    if not isinstance(found, Mapping) or not found.get("reference"):
        return None
    return Requester(str(found["reference"]), found.get("display"), _clinic(found.get("organization")))


def _clinic(found: Any) -> Clinic | None:
    if not isinstance(found, Mapping) or not found.get("reference"):
        return None
    return Clinic(str(found["reference"]), str(found.get("name") or found["reference"]))


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
