"""Benchmark: deliveries per second with two workers on PostgreSQL and 30% injected failures.

Run with ``make bench`` (or ``python -m tests.bench.delivery [COUNT]``). Starts the
sandbox (its receiving clinic verifies the app's assertions against the app's JWKS,
served by the app in a thread), puts a fault-injecting proxy in front of the clinic,
queues COUNT referrals in a throwaway PostgreSQL database and lets two workers
deliver them; then counts the Tasks at the clinic by identifier (each exactly once).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from smart_app.keys import KeyRing, generate_key_file
from smart_app.services import utcnow
from smart_app.store import Store
from tests.integration.stores import store_on
from tests.integration.test_delivery_faults import deliverer, origin, receiver
from tests.integration.test_delivery_scale import PACING, pending_count, queue_referrals, tasks_at_clinic
from tests.receiver_proxy import fault_proxy
from tests.sandbox_server import free_port, start_sandbox, write_receiver, write_registration

WORKERS = 2
FAULT_RATE = 0.3


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
        ns = f"https://so.example.org/bench-{uuid.uuid4().hex[:10]}/fhir"
        try:
            with (
                store_on("postgresql", Path(tmp)) as store,
                fault_proxy(origin(sandbox.clinic_fhir_base), rate=FAULT_RATE) as (proxy, script),
            ):
                script.hang_seconds, script.retry_after = 0.6, "1"
                ids = queue_referrals(store, ns, f"{proxy}/fhir", count)
                elapsed = _deliver_all(store, keys, f"{proxy}/fhir")
                requests_seen = len(script.seen)
            delivered = tasks_at_clinic(sandbox, f"{ns}/sid/referral")
        finally:
            server.shutdown()
    exactly_once = len(delivered) == count and set(delivered) == ids
    print(
        "| referrals | workers | injected failures | requests via proxy | s | deliveries/s | exactly once |"
    )
    print("|---|---|---|---|---|---|---|")
    rate = count / elapsed
    cells = (count, WORKERS, f"{FAULT_RATE:.0%}", requests_seen, f"{elapsed:.1f}", f"{rate:.1f}")
    print("| " + " | ".join(str(c) for c in cells) + f" | {exactly_once} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
