"""Delivery through a fault-injecting proxy in front of the sandbox clinic: retries, no duplicates."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from joserfc.jwk import ECKey

from fhir_mappings.domain import Clinic, Referral
from smart_app.errors import ReferralInvalid
from smart_app.http_pool import HttpPool
from smart_app.keys import KeyRing, signing_key_from_pem
from smart_app.referrals.delivery import Deliverer
from smart_app.referrals.outbox import DEFAULT_PACING, Outbox, Pacing, enqueue
from smart_app.referrals.receivers import Receiver
from smart_app.referrals.routing import new_delivery, receiver_for_referral
from smart_app.services import utcnow
from smart_app.smart.backend_services import BackendClient, BackendTokens
from smart_app.smart.client_assertion import assertion_form
from smart_app.store import DeliveryRecord, Store
from tests.integration.stores import TEST_DATA_KEYS
from tests.receiver_proxy import fault_proxy
from tests.sandbox_server import Sandbox
from tests.unit.test_service_request import REFERRAL

pytestmark = pytest.mark.usefixtures("live_app")  # the clinic fetches the app's JWKS from it

NS = "https://so.example.org/fhir"
ISS = "https://ehr.example.org/fhir"
CLIENT_ID = "second-opinion-backend"  # the app's Backend Services client at the sandbox clinic
SCOPES = "system/*.c system/Task.rs system/DocumentReference.rs"


def generate_key_file_bytes() -> bytes:
    """A fresh P-384 private key the app does not publish."""
    return bytes(ECKey.generate_key("P-384", private=True).as_pem(private=True))


def origin(url: str) -> str:
    return url.split("/fhir", 1)[0]


def receiver(base_url: str, client_id: str = CLIENT_ID) -> Receiver:
    return Receiver(key="test", name="Test clinic", base_url=base_url, client_id=client_id, scopes=SCOPES)


def a_referral(base_url: str) -> Referral:
    clinic = Clinic("Organization/c", "Test clinic", endpoint=base_url)
    return replace(REFERRAL, id=uuid.uuid4().hex, physician=replace(REFERRAL.physician, clinic=clinic))


def queue(store: Store, referral: Referral, target: Receiver, now: datetime) -> None:
    delivery = new_delivery(
        referral, target, iss=ISS, fhir_user="Practitioner/atp", service_request_id="sr-1", namespace=NS
    )
    with store.transaction() as db:
        enqueue(db, delivery, now)


def deliverer(
    store: Store,
    keys: KeyRing,
    target: Receiver,
    clock: Callable[[], datetime],
    worker: str = "w1",
    timeout: float = 1.0,
    pacing: Pacing = DEFAULT_PACING,
) -> Deliverer:
    http = HttpPool(timeout)
    return Deliverer(
        outbox=Outbox(store), receivers={target.base_url: target}, keys=keys,
        tokens=BackendTokens(http.for_url, 5.0), http=http, namespace=NS, worker=worker,
        clock=clock, pacing=pacing,
    )  # fmt: skip


def at_clinic(sandbox: Sandbox, resource_type: str, system: str, value: str) -> list[dict[str, object]]:
    bundle = sandbox.admin_session(clinic=True).get(
        f"{sandbox.clinic_fhir_base}/{resource_type}", params={"identifier": f"{system}|{value}"}
    )
    bundle.raise_for_status()
    return [e["resource"] for e in bundle.json().get("entry", [])]


def row(store: Store, referral_id: str) -> DeliveryRecord:
    with store.transaction() as db:
        found = db.get(DeliveryRecord, referral_id)
        assert found is not None
        return found


class Clock:
    """Real time plus a jump, so that backoff waits pass at once."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(f"sqlite:///{tmp_path / 'outbox.sqlite3'}", TEST_DATA_KEYS)
    found.create_schema()
    yield found
    found.engine.dispose()


def test_500s_and_429_then_delivered_once(sandbox: Sandbox, store: Store, keys: KeyRing) -> None:
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["500", "503", "429"]) as (proxy, script):
        script.retry_after = "120"
        target, clock = receiver(f"{proxy}/fhir"), Clock()
        referral = a_referral(target.base_url)
        queue(store, referral, target, clock())
        worker = deliverer(store, keys, target, clock)
        for _ in range(3):
            assert worker.run_once() == 1
            clock.jump(1000)
        assert (
            row(store, referral.id).last_error == "The receiving clinic was busy or had a problem (HTTP 429)."
        )
        assert row(store, referral.id).next_attempt_at >= clock() - timedelta(seconds=1000) + timedelta(
            seconds=119
        )
        assert worker.run_once() == 1
    delivered = row(store, referral.id)
    assert (delivered.state, delivered.attempts, delivered.task_status) == ("sent", 4, "requested")
    tasks = at_clinic(sandbox, "Task", f"{NS}/sid/referral", referral.id)
    assert [t["id"] for t in tasks] == [delivered.task_id]


def test_retry_after_is_honoured(sandbox: Sandbox, store: Store, keys: KeyRing) -> None:
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["429"]) as (proxy, script):
        script.retry_after = "300"
        target, clock = receiver(f"{proxy}/fhir"), Clock()
        referral = a_referral(target.base_url)
        queue(store, referral, target, clock())
        worker = deliverer(store, keys, target, clock)
        assert worker.run_once() == 1
        clock.jump(299)
        assert worker.run_once() == 0  # not due before Retry-After
        clock.jump(2)
        assert worker.run_once() == 1
    assert row(store, referral.id).state == "sent"


def test_receiver_down_for_a_while_and_timeouts(sandbox: Sandbox, store: Store, keys: KeyRing) -> None:
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["timeout"]) as (proxy, _):
        down = receiver(f"{proxy}/fhir")
    target, clock = down, Clock()  # the proxy is gone: connection refused
    referral = a_referral(target.base_url)
    queue(store, referral, target, clock())
    worker = deliverer(store, keys, target, clock)
    for _ in range(3):
        assert worker.run_once() == 1
        clock.jump(10_000)
    assert row(store, referral.id).state == "pending"
    assert row(store, referral.id).last_error == (
        "Signing in to the receiving clinic failed: The server could not be reached."
    )
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["timeout"]) as (back, _):
        revived = receiver(f"{back}/fhir")
        with store.transaction() as db:
            found = db.get(DeliveryRecord, referral.id)
            assert found is not None
            found.receiver_url = revived.base_url  # the clinic came back (on a new port)
        worker = deliverer(store, keys, revived, clock)
        assert worker.run_once() == 1  # timed out
        assert row(store, referral.id).last_error == "The receiving clinic did not answer in time."
        clock.jump(10_000)
        assert worker.run_once() == 1
    assert row(store, referral.id).state == "sent"


def test_lost_answers_and_a_killed_worker_still_deliver_exactly_once(
    sandbox: Sandbox, store: Store, keys: KeyRing
) -> None:
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["forward-then-502"]) as (proxy, _):
        target, clock = receiver(f"{proxy}/fhir"), Clock()
        referral = a_referral(target.base_url)
        queue(store, referral, target, clock())
        worker = deliverer(store, keys, target, clock)
        assert worker.run_once() == 1  # the clinic wrote it; the answer was lost
        clock.jump(10_000)
        assert Outbox(store).claim("killed-worker", clock()) != []  # claims, then dies
        assert worker.run_once() == 0  # the lease holds
        clock.jump(61)
        assert worker.run_once() == 1  # the lease ran out: delivered again
    assert row(store, referral.id).state == "sent"
    assert len(at_clinic(sandbox, "Task", f"{NS}/sid/referral", referral.id)) == 1
    assert len(at_clinic(sandbox, "ServiceRequest", f"{NS}/sid/referral", referral.id)) == 1
    assert len(at_clinic(sandbox, "Patient", f"{NS}/sid/ehr-resource", f"{ISS}/Patient/p1")) == 1


def test_a_refused_request_is_a_dead_letter_until_try_again(
    sandbox: Sandbox, store: Store, keys: KeyRing
) -> None:
    with fault_proxy(origin(sandbox.clinic_fhir_base), ["422"]) as (proxy, _):
        target, clock = receiver(f"{proxy}/fhir"), Clock()
        referral = a_referral(target.base_url)
        queue(store, referral, target, clock())
        worker = deliverer(store, keys, target, clock)
        assert worker.run_once() == 1
        dead = row(store, referral.id)
        assert (dead.state, dead.last_error) == (
            "dead",
            "The receiving clinic refused the referral (HTTP 422).",
        )
        clock.jump(100_000)
        assert worker.run_once() == 0  # dead letters wait for a person
        assert Outbox(store).try_again(referral.id, clock())
        assert worker.run_once() == 1
    assert row(store, referral.id).state == "sent"


def test_a_rejected_assertion_is_retried_for_a_while_then_a_dead_letter_in_plain_words(
    sandbox: Sandbox, store: Store, keys: KeyRing
) -> None:
    target, clock = receiver(sandbox.clinic_fhir_base, client_id="not-registered-here"), Clock()
    referral = a_referral(target.base_url)
    queue(store, referral, target, clock())
    worker = deliverer(store, keys, target, clock, pacing=replace(DEFAULT_PACING, token_refusal_window=600))
    reason = ("Signing in to the receiving clinic failed: "
              "The server did not accept Second Opinion's credentials (its signed key).")  # fmt: skip
    assert worker.run_once() == 1
    waiting = row(store, referral.id)
    assert (waiting.state, waiting.last_error) == ("pending", reason) and waiting.token_refused_at
    clock.jump(300)
    assert worker.run_once() == 1 and row(store, referral.id).state == "pending"  # still within the window
    clock.jump(301)
    assert worker.run_once() == 1
    dead = row(store, referral.id)
    assert (dead.state, dead.last_error) == ("dead", reason)
    assert at_clinic(sandbox, "Task", f"{NS}/sid/referral", referral.id) == []


def test_a_passing_token_refusal_is_not_a_dead_letter(sandbox: Sandbox, store: Store, keys: KeyRing) -> None:
    """As when the app's JWKS was briefly unreachable: the clinic refuses a key it cannot check, then not."""
    unpublished = KeyRing([signing_key_from_pem(generate_key_file_bytes(), "test")])
    target, clock = receiver(sandbox.clinic_fhir_base), Clock()
    referral = a_referral(target.base_url)
    queue(store, referral, target, clock())
    assert deliverer(store, unpublished, target, clock).run_once() == 1  # refused: a key it cannot check
    refused = row(store, referral.id)
    assert refused.state == "pending" and refused.token_refused_at and refused.last_error
    clock.jump(700)  # the backoff wait; the JWKS publishes the key again
    assert deliverer(store, keys, target, clock).run_once() == 1
    delivered = row(store, referral.id)
    assert (delivered.state, delivered.token_refused_at, delivered.last_error) == ("sent", None, None)


def test_the_clinic_refuses_a_replayed_jti(sandbox: Sandbox, keys: KeyRing) -> None:
    config = requests.get(f"{sandbox.clinic_fhir_base}/.well-known/smart-configuration", timeout=10).json()
    token_url = config["token_endpoint"]
    assert keys.current is not None
    form = {
        "grant_type": "client_credentials",
        "scope": "system/Task.rs",
        **assertion_form(keys.current, client_id=CLIENT_ID, token_url=token_url, now=int(time.time())),
    }
    first = requests.post(token_url, data=form, timeout=10)
    replayed = requests.post(token_url, data=form, timeout=10)
    assert first.status_code == 200 and first.json()["access_token"]
    # RFC 6749 §5.2: 401 is required only when the client authenticated in the Authorization header
    assert replayed.status_code in (400, 401) and replayed.json()["error"] == "invalid_client"


def test_an_unregistered_endpoint_is_refused_and_never_contacted(keys: KeyRing) -> None:
    with fault_proxy("http://127.0.0.1:9") as (unregistered, script):
        referral = a_referral(f"{unregistered}/fhir")
        registered = {"https://clinic.example.org/fhir": receiver("https://clinic.example.org/fhir")}
        with pytest.raises(ReferralInvalid) as refused:
            receiver_for_referral(referral, registered)
        assert "is not registered with Second Opinion" in str(refused.value)
        assert f"{unregistered}/fhir" in str(refused.value)
    assert script.seen == []


def test_a_task_the_transaction_response_did_not_name_is_found_by_identifier(
    sandbox: Sandbox, store: Store, keys: KeyRing
) -> None:
    target, clock = receiver(sandbox.clinic_fhir_base), Clock()
    referral = a_referral(target.base_url)
    queue(store, referral, target, clock())
    worker = deliverer(store, keys, target, clock)
    assert worker.run_once() == 1
    task_id = row(store, referral.id).task_id
    with store.transaction() as db:
        found = db.get(DeliveryRecord, referral.id)
        assert found is not None
        found.task_id = None
    clock.jump(10)
    assert worker.run_once() == 1
    assert row(store, referral.id).task_id == task_id and task_id


def test_backend_tokens_are_reused_until_shortly_before_they_expire(sandbox: Sandbox, keys: KeyRing) -> None:
    issued: list[str] = []
    now = [time.time()]
    http = HttpPool(5.0)
    session = http.for_url(sandbox.clinic_fhir_base)
    session.hooks["response"].append(
        lambda r, *a, **k: issued.append(r.url) if "/oauth/token" in r.url else None
    )
    tokens = BackendTokens(http.for_url, 5.0, clock=lambda: now[0])
    assert keys.current is not None
    client = BackendClient(sandbox.clinic_fhir_base, CLIENT_ID, "system/Task.rs", keys.current)
    first = tokens.token(client)
    assert tokens.token(client) == first and len(issued) == 1
    now[0] += 300 - 61
    assert tokens.token(client) == first and len(issued) == 1
    now[0] += 2  # the clinic's tokens live five minutes; renewed 60 s before they expire
    assert tokens.token(client) != first and len(issued) == 2
