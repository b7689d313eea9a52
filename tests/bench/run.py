"""Benchmarks (not tests): the ATP's whole journey against the real sandbox, beside a ``fhirclient`` baseline.

Run with ``make bench``; prints the Markdown tables of docs/benchmarks.md.
Starts the sandbox EHR (subprocess) and the app (werkzeug in a thread, then
gunicorn with ``smart_app.gunicorn_conf`` for the load) on free ports of
127.0.0.1. ``BENCH_ROUNDS`` (default 15), ``BENCH_LATENCY_ROUNDS`` (5, the 50 ms table) and
``BENCH_LOAD_SECONDS`` (20) tune it. The app's database transactions are counted at its
engine (tests/bench/transactions.py) during the loopback journeys.
"""

from __future__ import annotations

import collections
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
from tests.bench.transactions import EngineTransactions
from tests.charts import grow_chart
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_receiver, write_registration

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "20"))
CHARTS = (("wc-1", 5), ("wc-7", 200), ("wc-8", 5000))
LATENCY = 0.050
LATENCY_ROUNDS = int(os.environ.get("BENCH_LATENCY_ROUNDS", "5"))
REQUEST_NAMES = {  # the app's requests of one journey, in order, by Flask URL rule
    "GET /launch": "GET /launch",
    "GET /callback": "GET /callback",
    "GET /l/<launch_key>/compose": "GET /l/<launch_key>/compose",
    "POST /l/<launch_key>/referrals": "POST /l/<launch_key>/referrals (send)",
    "GET /l/<launch_key>/referrals/<referral_id>": "GET …/referrals/<referral_id> (confirmation page)",
}


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
    app: Callable[[], Journey], peer: Callable[[], Journey], rounds: int = ROUNDS,
    after_warm_up: Callable[[], None] = lambda: None,
) -> tuple[list[Journey], list[Journey]]:
    app(), peer()  # warm-up: caches, connections
    after_warm_up()
    mine: list[Journey] = []
    theirs: list[Journey] = []
    for _ in range(rounds):
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
    transactions = EngineTransactions(services.store.engine)  # the app is in this process
    per_chart: dict[int, tuple[int, collections.Counter[str]]] = {}
    try:
        print("| journey | active conditions | total median ms | total p95 ms | callback → ready median ms "
              "| p95 ms | EHR requests callback → ready | EHR requests whole journey | app / baseline |")
        print("|---|---|---|---|---|---|---|---|---|")
        for patient, size in CHARTS:
            mine, theirs = _interleaved(
                partial(app_journey, sandbox, app_url, patient, counter),
                partial(baseline_journey, sandbox, app_url, patient, settings.namespace),
                after_warm_up=transactions.clear,  # the baseline's journeys never reach the app
            )
            per_chart[size] = (len(mine), collections.Counter(transactions.by_request))
            print(_row("app", mine, theirs))
            print(_row("fhirclient baseline", theirs, None))
        transactions.remove()
        _transaction_rows(per_chart)
        _latency(sandbox, app_url, settings.namespace, session, counter)
        _session_rows(services.store)
    finally:
        server.shutdown()
        server.server_close()


def _transaction_rows(per_chart: Mapping[int, tuple[int, collections.Counter[str]]]) -> None:
    """Database transactions per app journey (engine "begin" events), in all and by request."""
    sizes = sorted(per_chart)
    print("\n| database transactions per journey (engine \"begin\" events) | "
          + " | ".join(f"{size} conditions" for size in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    print("| all requests of the journey | "
          + " | ".join(f"{sum(per_chart[s][1].values()) / per_chart[s][0]:.1f}" for s in sizes) + " |")
    seen = {label for _, by_request in per_chart.values() for label in by_request}
    labels = sorted(seen, key=_journey_order)
    for label in labels:
        cells = " | ".join(f"{per_chart[s][1][label] / per_chart[s][0]:.1f}" for s in sizes)
        print(f"| {REQUEST_NAMES.get(label, label)} | {cells} |")


def _journey_order(label: str) -> tuple[int, str]:
    names = list(REQUEST_NAMES)
    return (names.index(label) if label in names else len(names), label)


def _latency(
    sandbox: Sandbox, app_url: str, namespace: str, session: requests.Session, counter: Counter
) -> None:
    """App and peer journeys interleaved, 50 ms added before each of their EHR requests."""
    print("\n| with 50 ms added per EHR request | active conditions | total median ms "
          "| callback → ready median ms | sequential EHR round trips, callback → ready "
          "| EHR requests whole journey | app / peer, total | app / peer, callback → ready |")
    print("|---|---|---|---|---|---|---|---|")
    origin = sandbox.ehr_url.rstrip("/")
    mine_delay, peer_delay = DelayingAdapter(), DelayingAdapter()
    original = session.adapters.get(origin)
    session.mount(origin, mine_delay)
    try:
        for patient, size in CHARTS:
            mine, theirs = _interleaved(
                partial(app_journey, sandbox, app_url, patient, counter),
                partial(baseline_journey, sandbox, app_url, patient, namespace, peer_delay),
                rounds=LATENCY_ROUNDS,
            )
            print(_latency_row("app", size, mine, mine_delay, theirs))
            print(_latency_row("fhirclient baseline (peer)", size, theirs, peer_delay, None))
    finally:
        if original is not None:
            session.mount(origin, original)
        else:
            del session.adapters[origin]


def _latency_row(
    name: str, size: int, runs: list[Journey], delaying: DelayingAdapter, peer: list[Journey] | None
) -> str:
    total = statistics.median(r.total_ms for r in runs)
    ready = statistics.median(r.ready_ms for r in runs)
    trips = max(delaying.sequential_trips(r.ready_window) for r in runs)
    ratios = ["", ""]
    if peer:
        ratios = [f"{total / statistics.median(p.total_ms for p in peer):.2f}",
                  f"{ready / statistics.median(p.ready_ms for p in peer):.2f}"]  # fmt: skip
    return (f"| {name} | {size} | {total:.0f} | {ready:.0f} | {trips} | {runs[0].requests_total} | "
            f"{ratios[0]} | {ratios[1]} |")


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
