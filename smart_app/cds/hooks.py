"""Answering a hook call: the data (prefetch or one batch), the pure rules, the cards."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fhir_mappings.errors import MappingError
from fhir_mappings.ime_order import ime_orders_from_draft_orders
from fhir_mappings.stuck_case import CaseFacts, case_facts_from_resources, stuck_case_verdict
from smart_app.cds.cards import ime_order_card, stuck_case_card
from smart_app.cds.case_data import case_resources
from smart_app.cds.discovery import PATIENT_VIEW, CdsService, prefetch_templates
from smart_app.cds.errors import CdsRequestInvalid
from smart_app.cds.hook_request import HookRequest
from smart_app.cds.records import IssuedCard
from smart_app.config import Registration
from smart_app.services import Services, utcnow

logger = logging.getLogger(__name__)
BLOCKS_IME_CARD = frozenset({"no-workers-comp", "mmi-recorded", "opinion-open", "opinion-recent"})


def answer(
    service: CdsService, request: HookRequest, registration: Registration, svc: Services
) -> tuple[dict[str, Any], list[IssuedCard]]:
    """The CDS Hooks response (``{"cards": [...]}``, empty when there is nothing to suggest) and the
    rows that remember its card, to keep with the call's jti."""
    facts = _facts(service, request, registration, svc)
    if service is PATIENT_VIEW:
        card, rules = _patient_view(facts, svc)
    else:
        card, rules = _order_select(facts, request, svc)
    rows = []
    if card is not None:
        issued = IssuedCard(
            uuid=card["uuid"],
            service=service.id,
            client_iss=registration.cds_client_iss,
            rules=" ".join(rules)[:200],
            issued_at=utcnow(),
        )
        rows.append(issued)
    logger.info("cds.answered service=%s cards=%d rules=%s", service.id, len(rows), ",".join(rules) or "-")
    return {"cards": [card] if card else []}, rows


def _facts(service: CdsService, request: HookRequest, registration: Registration, svc: Services) -> CaseFacts:
    ns = svc.settings.namespace
    resources = case_resources(request, prefetch_templates(ns, service), registration, svc.http)
    try:
        return case_facts_from_resources(resources, ns)
    except MappingError as error:
        raise CdsRequestInvalid("The chart data could not be read as FHIR R4.") from error


def _patient_view(facts: CaseFacts, svc: Services) -> tuple[dict[str, Any] | None, list[str]]:
    settings = svc.settings
    today = utcnow().astimezone(settings.zone).date()
    verdict = stuck_case_verdict(facts, settings.stuck_thresholds, today)
    if not verdict.stuck:
        return None, [f"blocked:{verdict.blocked}"] if verdict.blocked else []
    card = stuck_case_card(verdict, settings.public_url, settings.namespace, _uuids())
    return card, [finding.rule for finding in verdict.findings]


def _order_select(
    facts: CaseFacts, request: HookRequest, svc: Services
) -> tuple[dict[str, Any] | None, list[str]]:
    selections = request.context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise CdsRequestInvalid("context.selections must be an array of references such as ServiceRequest/1.")
    if not isinstance(request.context.get("draftOrders"), dict):
        raise CdsRequestInvalid("context.draftOrders must be a Bundle.")
    orders = ime_orders_from_draft_orders(request.context["draftOrders"], selections)
    settings = svc.settings
    verdict = stuck_case_verdict(facts, settings.stuck_thresholds, utcnow().astimezone(settings.zone).date())
    if not orders or verdict.blocked in BLOCKS_IME_CARD:
        return None, [f"blocked:{verdict.blocked}"] if orders and verdict.blocked else []
    reasons = [c.reference for c in facts.conditions]
    card = ime_order_card(orders, reasons, settings.public_url, settings.namespace, _uuids())
    return card, [f"draft-{order.kind.lower()}" for order in orders]


def _uuids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())
