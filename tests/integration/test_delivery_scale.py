"""Two workers on PostgreSQL deliver many referrals through random faults: each exactly once at the clinic.

It delivers 1,000 (about 70 s on the 2-core development machine, with the rest of the
suite's data in the sandbox); ``SMART_APP_SCALE_REFERRALS=100`` runs a quicker tenth.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from smart_app.keys import KeyRing
from smart_app.referrals.outbox import NewDelivery, Pacing, enqueue
from smart_app.referrals.routing import new_delivery
from smart_app.services import utcnow
from smart_app.store import DeliveryRecord, Store
from tests.integration.test_delivery_faults import ISS, a_referral, deliverer, origin, receiver
from tests.receiver_proxy import fault_proxy
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")

REFERRALS = int(os.environ.get("SMART_APP_SCALE_REFERRALS", "1000"))
FAULT_RATE = 0.3
DEADLINE_SECONDS = 600
# Short retry waits so that the test is about delivery, not waiting; Tasks are not polled here.
PACING = Pacing(backoff_base=0.05, backoff_cap=1.0, poll_base=3600.0, poll_cap=3600.0)


def new_deliveries(ns: str, base_url: str, count: int) -> list[NewDelivery]:
    """``count`` fresh referrals' outbox rows (each with its transaction Bundle) for ``base_url``."""
    target, made = receiver(base_url), []
    for _ in range(count):
        referral = replace(a_referral(base_url), reasons=(), coverage=None)
        made.append(new_delivery(
            referral, target, iss=ISS, fhir_user="Practitioner/atp", service_request_id="sr", namespace=ns
        ))  # fmt: skip
    return made


def queue_referrals(store: Store, ns: str, base_url: str, count: int) -> set[str]:
    deliveries = new_deliveries(ns, base_url, count)
    with store.transaction() as db:
        for delivery in deliveries:
            enqueue(db, delivery, utcnow())
    return {delivery.referral_id for delivery in deliveries}


def tasks_at_clinic(sandbox: Sandbox, system: str) -> list[str]:
    """Every Task value under our identifier system, following the clinic's paging links."""
    session, values = sandbox.admin_session(clinic=True), []
    url: str | None = f"{sandbox.clinic_fhir_base}/Task"
    params: dict[str, Any] | None = {"identifier": f"{system}|", "_count": 500}
    while url:
        bundle = session.get(url, params=params, timeout=60).json()
        for entry in bundle.get("entry", []):
            values += [i["value"] for i in entry["resource"]["identifier"] if i["system"] == system]
        url = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)
        params = None
    return values


def pending_count(store: Store) -> int:
    with store.transaction() as db:
        return int(db.execute(select(func.count()).where(DeliveryRecord.state == "pending")).scalar_one())


def test_two_workers_deliver_each_referral_exactly_once(
    sandbox: Sandbox, postgres_store: Store, keys: KeyRing
) -> None:
    ns = f"https://so.example.org/scale-{uuid.uuid4().hex[:10]}/fhir"  # this run's identifiers only
    with fault_proxy(origin(sandbox.clinic_fhir_base), rate=FAULT_RATE) as (proxy, script):
        script.hang_seconds, script.retry_after = 0.6, "1"
        base_url = f"{proxy}/fhir"
        ids = queue_referrals(postgres_store, ns, base_url, REFERRALS)
        stop = threading.Event()

        def work(name: str) -> None:
            worker = deliverer(
                postgres_store, keys, receiver(base_url), utcnow, worker=name, timeout=0.5, pacing=PACING
            )
            while not stop.is_set():
                if not worker.run_once(limit=10):
                    time.sleep(0.05)

        workers = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
        for thread in workers:
            thread.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while pending_count(postgres_store) and time.monotonic() < deadline:
            time.sleep(0.5)
        stop.set()
        for thread in workers:
            thread.join(timeout=30)
        faults = sum(1 for _ in script.seen) - REFERRALS
    assert pending_count(postgres_store) == 0
    delivered = tasks_at_clinic(sandbox, f"{ns}/sid/referral")
    assert len(delivered) == REFERRALS and set(delivered) == ids  # every one, none twice
    assert faults > REFERRALS * FAULT_RATE / 2  # the faults really happened
