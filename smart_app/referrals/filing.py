"""File the returned opinion to the EHR chart and move the EHR's ServiceRequest on.

With a Backend Services client in the EHR's registration the worker files at once;
otherwise the opinion waits and is filed with the ATP's own token at their next
launch for that patient (the referral's page says so). Both paths are idempotent:
the DocumentReference is a conditional create on the referral identifier.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from fhir_mappings.opinion import (
    Opinion,
    answers_text_from_opinion,
    document_reference_from_opinion,
    service_request_status_from_task_status,
)
from fhir_mappings.service_request import if_none_exist_from_referral_id
from smart_app.chart.fhir_client import FhirClient
from smart_app.errors import EhrError
from smart_app.store import DeliveryEvent, DeliveryRecord, Store

logger = logging.getLogger(__name__)


class Filing:
    """Writes closed referrals' outcomes to the EHR, once."""

    def __init__(self, store: Store, namespace: str, clock: Callable[[], datetime]) -> None:
        self._store, self._ns, self._clock = store, namespace, clock

    def awaiting(self, fhir_user: str, iss: str, patient_reference: str) -> list[str]:
        """Referral ids of this ATP and patient whose outcome waits for a launch.

        The patient reference is sealed at rest, so the patient is matched here, not in SQL.
        """
        with self._store.transaction() as db:
            rows = db.execute(
                select(DeliveryRecord.id, DeliveryRecord.patient_reference).where(
                    DeliveryRecord.fhir_user == fhir_user,
                    DeliveryRecord.iss == iss,
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
            result = json.loads(row.result_json or "{}")
            summary = json.loads(row.summary_json)
            opinion = Opinion(
                referral_id=row.id, patient_reference=row.patient_reference,
                service_request_id=row.service_request_id, questions=tuple(summary.get("questions") or ()),
                answers=tuple(result.get("answers") or ()), date=self._clock().isoformat(),
                letter=result.get("opinion"),
            )  # fmt: skip
        try:
            self._write(client, opinion, str(result.get("status", "")))
        except EhrError as error:
            logger.warning("opinion.filing_failed id=%s error=%s", referral_id, type(error).__name__)
            return False
        with self._store.transaction() as db:
            row = db.get(DeliveryRecord, referral_id, with_for_update=True)
            if row is not None and row.filing == "awaiting-launch":
                row.filing = "filed"
                db.add(DeliveryEvent(delivery_id=referral_id, at=self._clock(), kind="filed", detail=None))
        logger.info("opinion.filed id=%s", referral_id)
        return True

    def _write(self, client: FhirClient, opinion: Opinion, task_status: str) -> None:
        """The DocumentReference (completed only), then the ServiceRequest's status."""
        if task_status == "completed":
            text = base64.b64encode(answers_text_from_opinion(opinion).encode()).decode()
            document = document_reference_from_opinion(opinion, self._ns, text)
            client.create(document, if_none_exist_from_referral_id(opinion.referral_id, self._ns))
        status = service_request_status_from_task_status(task_status)
        if status is None:
            return
        service_request = client.read("ServiceRequest", opinion.service_request_id)
        if service_request.get("status") != status:
            client.update({**service_request, "status": status})
