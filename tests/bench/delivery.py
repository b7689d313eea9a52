"""Benchmark: deliveries per second with two workers on PostgreSQL, against the clinic's own rate.

Run with ``make bench`` (or ``python -m tests.bench.delivery [COUNT]``). Starts the
sandbox (its receiving clinic verifies the app's assertions against the app's JWKS,
served by the app in a thread). Four runs of COUNT fresh referrals each, in this order,
on the same clinic server (its database grows from run to run, which slows the later ones):

1. the clinic's own rate: the same transaction Bundles the worker would send (built by
   ``new_delivery``), POSTed straight to the clinic's FHIR server by WORKERS threads with
   one Backend Services token, no worker, no outbox, no faults;
2. the workers on a throwaway PostgreSQL outbox, straight to the clinic, no faults;
3. the workers through a proxy that fails 30% of the clinic's FHIR requests (as before);
4. the clinic's own rate again, to bound the effect of its growing database.

Each run's Tasks are counted at the clinic by identifier (each exactly once).
"""

from __future__ import annotations

import queue
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from smart_app.http_pool import HttpPool
from smart_app.keys import KeyRing, generate_key_file
from smart_app.referrals.clinic_http import FHIR_JSON
from smart_app.services import utcnow
from smart_app.smart.backend_services import BackendClient, BackendTokens
from smart_app.store import Store
from tests.integration.stores import store_on
from tests.integration.test_delivery_faults import CLIENT_ID, SCOPES, deliverer, origin, receiver
from tests.integration.test_delivery_scale import (
    PACING,
    new_deliveries,
    pending_count,
    queue_referrals,
    tasks_at_clinic,
)
from tests.receiver_proxy import fault_proxy
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_receiver, write_registration

WORKERS = 2
FAULT_RATE = 0.3
CLINIC_FIRST = "clinic's own rate: the Bundles POSTed straight, no worker"
WORKERS_PLAIN = "workers, straight to the clinic, no faults"
WORKERS_FAULTS = f"workers, {FAULT_RATE:.0%} injected failures (fault proxy)"
CLINIC_AGAIN = "clinic's own rate again, after the worker runs"


def _deliver_all(store: Store, keys: KeyRing, base_url: str) -> float:
    """Run the workers until nothing is pending; the seconds it took."""
    stop = threading.Event()

    def work(name: str) -> None:
        target = receiver(base_url)
        worker = deliverer(store, keys, target, utcnow, worker=name, timeout=0.5, pacing=PACING)
        while not stop.is_set():
            if not worker.run_once(limit=10):
                time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(f"bench-{i}",)) for i in range(WORKERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while pending_count(store):
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return elapsed


@dataclass(frozen=True)
class Run:
    """One run's figures."""

    name: str
    seconds: float
    requests: int | None  # requests through the fault proxy, when there is one
    exactly_once: bool


def _fresh_ns() -> str:
    return f"https://so.example.org/bench-{uuid.uuid4().hex[:10]}/fhir"  # this run's identifiers only


def _exactly_once(sandbox: Sandbox, ns: str, ids: set[str]) -> bool:
    delivered = tasks_at_clinic(sandbox, f"{ns}/sid/referral")
    return len(delivered) == len(ids) and set(delivered) == ids


def _post_straight(bundles: Sequence[dict[str, Any]], base_url: str, token: str) -> float:
    """WORKERS threads POST the Bundles to ``base_url`` (FHIR transaction), one at a time each; seconds."""
    todo: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    for bundle in bundles:
        todo.put(bundle)
    failures: list[int] = []
    headers = {"Authorization": f"Bearer {token}", "Accept": FHIR_JSON, "Content-Type": FHIR_JSON}

    def post() -> None:
        with requests.Session() as session:
            while True:
                try:
                    bundle = todo.get_nowait()
                except queue.Empty:
                    return
                answer = session.post(base_url, json=bundle, headers=headers, timeout=60)
                if answer.status_code != 200:
                    failures.append(answer.status_code)

    threads = [threading.Thread(target=post) for _ in range(WORKERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert not failures, f"the clinic refused {len(failures)} Bundles: {sorted(set(failures))}"
    return elapsed


def _clinic_run(name: str, sandbox: Sandbox, keys: KeyRing, count: int) -> Run:
    """The clinic's own rate for COUNT Bundles as the worker builds them."""
    ns, base = _fresh_ns(), sandbox.clinic_fhir_base
    deliveries = new_deliveries(ns, base, count)
    assert keys.current is not None
    http = HttpPool(5.0)
    token = BackendTokens(http.for_url, 5.0).token(BackendClient(base, CLIENT_ID, SCOPES, keys.current))
    elapsed = _post_straight([d.payload for d in deliveries], base, token)
    return Run(name, elapsed, None, _exactly_once(sandbox, ns, {d.referral_id for d in deliveries}))


def _worker_run(name: str, sandbox: Sandbox, store: Store, keys: KeyRing, count: int, faults: float) -> Run:
    """The workers deliver COUNT queued referrals, through the fault proxy when ``faults`` > 0."""
    ns = _fresh_ns()
    with _target(sandbox, faults) as (base_url, seen):
        ids = queue_referrals(store, ns, base_url, count)
        elapsed = _deliver_all(store, keys, base_url)
        requests_seen = len(seen) if faults else None
    return Run(name, elapsed, requests_seen, _exactly_once(sandbox, ns, ids))


@contextmanager
def _target(sandbox: Sandbox, faults: float) -> Iterator[tuple[str, list[Any]]]:
    """The clinic's FHIR base, straight or behind the fault proxy; the requests the proxy saw."""
    if not faults:
        yield sandbox.clinic_fhir_base, []
        return
    with fault_proxy(origin(sandbox.clinic_fhir_base), rate=faults) as (proxy, script):
        script.hang_seconds, script.retry_after = 0.6, "1"
        yield f"{proxy}/fhir", script.seen


def main(count: int) -> None:
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_sandbox(data_dir=Path(tmp) / "sb", app_base_url=app_url) as sandbox,
    ):
        generate_key_file(Path(tmp) / "key.pem")
        settings = Settings(
            public_url=app_url,
            database_url=f"sqlite:///{tmp}/app.sqlite3",
            registrations=write_registration(Path(tmp) / "reg", sandbox),
            receivers=write_receiver(Path(tmp) / "receivers", sandbox),
            signing_key_files=str(Path(tmp) / "key.pem"),
            data_keys=new_key_line("bench"),
        )
        app = create_app(settings)
        server = make_server("127.0.0.1", app_port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        keys: KeyRing = app.extensions["second_opinion"].keys
        try:
            with store_on("postgresql", Path(tmp)) as store:
                runs = [
                    _clinic_run(CLINIC_FIRST, sandbox, keys, count),
                    _worker_run(WORKERS_PLAIN, sandbox, store, keys, count, 0.0),
                    _worker_run(WORKERS_FAULTS, sandbox, store, keys, count, FAULT_RATE),
                    _clinic_run(CLINIC_AGAIN, sandbox, keys, count),
                ]
        finally:
            server.shutdown()
    _print(runs, count)


def _print(runs: Sequence[Run], count: int) -> None:
    print("| run | transaction Bundles | concurrent senders | requests via proxy | s | bundles/s "
          "| exactly once |")
    print("|---|---|---|---|---|---|---|")
    for run in runs:
        proxied = "" if run.requests is None else str(run.requests)
        print(f"| {run.name} | {count} | {WORKERS} | {proxied} | {run.seconds:.1f} | "
              f"{count / run.seconds:.1f} | {run.exactly_once} |")
    clinic = [count / r.seconds for r in runs if r.name in (CLINIC_FIRST, CLINIC_AGAIN)]
    workers = [r for r in runs if r.name not in (CLINIC_FIRST, CLINIC_AGAIN)]
    print("\n| worker's rate as a share of the clinic's own (target ≥ 80 %) | clinic before | clinic after |")
    print("|---|---|---|")
    for run in workers:
        shares = " | ".join(f"{count / run.seconds / rate:.0%}" for rate in clinic)
        print(f"| {run.name} | {shares} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
