"""Benchmarks (not tests): the ATP's whole journey against the real sandbox, beside a ``fhirclient`` baseline.

Run with ``make bench``; prints the Markdown tables of docs/benchmarks.md.
Starts the sandbox EHR (subprocess) and the app (werkzeug in a thread, then
gunicorn with ``smart_app.gunicorn_conf`` for the load) on free ports of
127.0.0.1. ``BENCH_ROUNDS`` (default 15) and ``BENCH_LOAD_SECONDS`` (20) tune it.
"""

from __future__ import annotations

import logging
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from smart_app.store import Launch
from tests.bench.journey import Counter, Journey, app_journey, baseline_journey
from tests.bench.load import gunicorn, run_load
from tests.charts import grow_chart
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_receiver, write_registration

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "20"))
CHARTS = (("wc-1", 5), ("wc-7", 200), ("wc-8", 5000))
LATENCY = 0.050


class DelayingAdapter(HTTPAdapter):
    """Adds a fixed delay before every request (an EHR 50 ms away) and records when each ran."""

    def __init__(self) -> None:
        super().__init__(pool_maxsize=32)
        self.spans: list[tuple[float, float]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        started = time.perf_counter()
        time.sleep(LATENCY)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            self.spans.append((started, time.perf_counter()))

    def sequential_trips(self, window: tuple[float, float]) -> int:
        """Round trips in the window that waited for one another (overlapping ones count once)."""
        trips, end = 0, 0.0
        for start, stop in sorted(s for s in self.spans if window[0] <= s[0] <= window[1]):
            if start >= end:
                trips += 1
            end = max(end, stop) if start < end else stop
        return trips


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def _interleaved(
    app: Callable[[], Journey], peer: Callable[[], Journey]
) -> tuple[list[Journey], list[Journey]]:
    app(), peer()  # warm-up: caches, connections
    mine: list[Journey] = []
    theirs: list[Journey] = []
    for _ in range(ROUNDS):
        mine.append(app())
        theirs.append(peer())
    return mine, theirs


def _row(name: str, runs: list[Journey], baseline: list[Journey] | None) -> str:
    total = [r.total_ms for r in runs]
    ready = [r.ready_ms for r in runs]
    ratio = statistics.median(total) / statistics.median([b.total_ms for b in baseline]) if baseline else None
    return (f"| {name} | {runs[0].conditions} | {statistics.median(total):.0f} | {_p95(total):.0f} | "
            f"{statistics.median(ready):.0f} | {_p95(ready):.0f} | {runs[0].requests_to_ready} | "
            f"{runs[0].requests_total} | {f'{ratio:.2f}' if ratio else ''} |")


def _grow(sandbox: Sandbox) -> None:
    grow_chart(sandbox, "wc-1", 3)  # 2 seeded + 3 = 5 active
    grow_chart(sandbox, "wc-8", 4999)  # 1 seeded + 4,999 = 5,000 active


def main() -> None:
    logging.getLogger("fhirclient").setLevel(logging.ERROR)  # it logs "Received an id_token" per launch
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with tempfile.TemporaryDirectory() as tmp, \
            start_sandbox(data_dir=Path(tmp) / "sb", app_base_url=app_url) as sandbox:
        _grow(sandbox)
        env = {"SMART_APP_PUBLIC_URL": app_url, "SMART_APP_DATABASE_URL": f"sqlite:///{tmp}/app.sqlite3",
               "SMART_APP_REGISTRATIONS": str(write_registration(Path(tmp) / "reg", sandbox)),
               "SMART_APP_RECEIVERS": str(write_receiver(Path(tmp) / "receivers", sandbox)),
               "SMART_APP_DATA_KEYS": new_key_line("bench")}
        settings = Settings(public_url=app_url, database_url=env["SMART_APP_DATABASE_URL"],
                            registrations=Path(env["SMART_APP_REGISTRATIONS"]),
                            receivers=Path(env["SMART_APP_RECEIVERS"]), data_keys=env["SMART_APP_DATA_KEYS"])
        _journeys(sandbox, app_url, settings)
        with gunicorn(app_url, env) as process:
            _load(sandbox, app_url, process.pid)


def _journeys(sandbox: Sandbox, app_url: str, settings: Settings) -> None:
    app = create_app(settings)
    services = app.extensions["second_opinion"]
    session = services.http.for_url(sandbox.fhir_base)
    counter = Counter(session, sandbox.ehr_url.rstrip("/"))
    server = make_server("127.0.0.1", int(app_url.rsplit(":", 1)[1]), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        print("| journey | active conditions | total median ms | total p95 ms | callback → ready median ms "
              "| p95 ms | EHR requests callback → ready | EHR requests whole journey | app / baseline |")
        print("|---|---|---|---|---|---|---|---|---|")
        for patient, _size in CHARTS:
            mine, theirs = _interleaved(
                partial(app_journey, sandbox, app_url, patient, counter),
                partial(baseline_journey, sandbox, app_url, patient, settings.namespace),
            )
            print(_row("app", mine, theirs))
            print(_row("fhirclient baseline", theirs, None))
        _latency(sandbox, app_url, session, counter)
        _session_rows(services.store)
    finally:
        server.shutdown()
        server.server_close()


def _latency(sandbox: Sandbox, app_url: str, session: requests.Session, counter: Counter) -> None:
    print("\n| with 50 ms added per EHR request | active conditions | callback → ready median ms "
          "| sequential EHR round trips, callback → ready |")
    print("|---|---|---|---|")
    origin = sandbox.ehr_url.rstrip("/")
    delaying = DelayingAdapter()
    session.mount(origin, delaying)
    try:
        for patient, size in CHARTS:
            ready, trips = [], []
            for _ in range(5):
                journey = app_journey(sandbox, app_url, patient, counter)
                ready.append(journey.ready_ms)
                trips.append(delaying.sequential_trips(journey.ready_window))
            print(f"| app | {size} | {statistics.median(ready):.0f} | {max(trips)} |")
    finally:
        session.mount(origin, HTTPAdapter())


def _session_rows(store: Any) -> None:
    with store.transaction() as db:
        sizes: Mapping[str, int] = {}
        for row in db.query(Launch).filter(Launch.chart_json.is_not(None)).all():
            sizes = {**sizes, row.patient: max(sizes.get(row.patient, 0), len(row.chart_json))}
    print("\n| patient | launch row `chart_json` bytes |\n|---|---|")
    for patient, size in sorted(sizes.items()):
        print(f"| {patient} | {size:,} |")


def _load(sandbox: Sandbox, app_url: str, master: int) -> None:
    print("\n| load (gunicorn, smart_app.gunicorn_conf) | ATPs | seconds | journeys | journeys/s | errors "
          "| journey p50 ms | p95 ms | app CPU ms per journey |")
    print("|---|---|---|---|---|---|---|---|---|")
    for users in (1, 50):
        result = run_load(sandbox, app_url, master, users, LOAD_SECONDS, "wc-1")
        print(f"| wc-1 (5 conditions) | {users} | {result.seconds:.0f} | {result.journeys} | "
              f"{result.journeys / result.seconds:.1f} | {result.errors} | {result.p50_ms:.0f} | "
              f"{result.p95_ms:.0f} | {result.cpu_ms_per_journey:.0f} |")


if __name__ == "__main__":
    main()
