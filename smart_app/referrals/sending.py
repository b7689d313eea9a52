"""Send a referral built from a launch: read its records, write the ServiceRequest, queue the delivery.

The steps of the composer's send (smart_app/web/compose.py), for a referral built again by a
re-route: records read with the ATP's token before anything is written, the ServiceRequest (with
its Provenance where granted) a conditional create on our identifier, the ledger's "sent" and the
outbox row in one transaction. A refusal says what to do, and nothing is queued.
"""

from __future__ import annotations

import logging

from fhir_mappings.domain import Referral
from fhir_mappings.service_request import service_request_from_referral
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.records import shared_records
from smart_app.errors import EhrError, ReferralInvalid
from smart_app.referrals.ledger import ReferralLedger
from smart_app.referrals.receivers import Receiver
from smart_app.referrals.routing import new_delivery
from smart_app.referrals.send import write_referral
from smart_app.services import services, utcnow
from smart_app.store import Launch

logger = logging.getLogger(__name__)


def send_now(
    client: FhirClient, launch: Launch, referral: Referral, receiver: Receiver, provenance: bool
) -> None:
    """Write and queue ``referral`` for this launch; ReferralInvalid or EhrError if it was not sent."""
    svc = services()
    ledger = ReferralLedger(svc.store)
    if ledger.claim(referral.id, launch.id, launch.iss, utcnow()) != "send":
        return  # a double submit: the first one sends it
    try:
        records = shared_records(client, referral, svc.settings.namespace)
        service_request = service_request_from_referral(referral, svc.settings.namespace)  # once per send
        outcome = write_referral(client, referral, service_request, svc.settings.namespace,
                                 with_provenance=provenance)  # fmt: skip
    except (ReferralInvalid, EhrError):
        ledger.release(referral.id)
        raise
    if outcome.state != "sent" or outcome.service_request_id is None:
        ledger.release(referral.id)
        logger.warning("referral.%s id=%s", outcome.state, referral.id)
        raise ReferralInvalid(outcome.message.replace(" Your answers are kept below.", ""))
    delivery = new_delivery(
        referral, receiver, iss=launch.iss, fhir_user=launch.fhir_user or "",
        service_request_id=outcome.service_request_id, namespace=svc.settings.namespace, records=records,
        service_request=service_request,
    )  # fmt: skip
    ledger.mark_sent(referral.id, outcome.service_request_id, utcnow(), delivery)
    logger.info("referral.created id=%s", referral.id)
