"""Benchmarks (not tests): what an ATP waits for, measured against the real sandbox and app.

Run with ``make bench``. Prints a Markdown table for docs/benchmarks.md. Starts
the sandbox EHR (subprocess) and the app (werkzeug, in a thread) on free ports
of 127.0.0.1, like the integration tests.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import timeit
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.serving import make_server

from fhir_mappings.domain import Referral
from fhir_mappings.service_request import service_request_from_referral
from smart_app import create_app
from smart_app.chart import chart_from_json
from smart_app.config import Settings
from smart_app.store import LaunchSession
from tests.pages import launch_from_ehr, referral_form
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_registration

ROUNDS = 30


def _timed(action: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    action()  # warm-up: caches, connections
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(name: str, samples: list[float], requests_each: int | str) -> str:
    p95 = statistics.quantiles(samples, n=20)[18]
    return f"| {name} | {statistics.median(samples):.1f} | {p95:.1f} | {requests_each} | {len(samples)} |"


def _compose(sandbox: Sandbox, patient: str, counter: list[str]) -> tuple[list[float], int]:
    browser, page = launch_from_ehr(sandbox, patient=patient)
    counter.clear()
    browser.get(page.url, timeout=60)
    per_load = len(counter)
    return _timed(lambda: browser.get(page.url, timeout=60)), per_load


def _send(sandbox: Sandbox, counter: list[str]) -> tuple[list[float], int]:
    browser, page = launch_from_ehr(sandbox, patient="wc-5")
    url = page.url.replace("/compose", "/referrals")

    def send() -> None:
        answer = browser.post(url, data=referral_form(page.text, referral_id=uuid.uuid4().hex), timeout=60)
        assert answer.status_code == 200, answer.status_code

    counter.clear()
    send()
    per_send = len(counter)
    return _timed(send), per_send


def _mapping(store_chart: str) -> tuple[float, float]:
    chart = chart_from_json(store_chart)
    referral = Referral(
        id=uuid.uuid4().hex,
        patient=chart.patient,
        requester=chart.requester,
        physician=chart.physicians[0],
        modality="telehealth",
        questions=("Q1?", "Q2?", "Q3?"),
        authored_on=datetime(2026, 11, 22, tzinfo=UTC),
        reasons=chart.conditions[:3],
        coverage=chart.coverage,
    )
    n = 200
    mapping = (
        timeit.timeit(
            lambda: service_request_from_referral(referral, "https://so.example.org/fhir"), number=n
        )
        / n
        * 1000
    )
    rebuild = timeit.timeit(lambda: chart_from_json(store_chart), number=n) / n * 1000
    return mapping, rebuild


def main() -> None:
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_sandbox(data_dir=Path(tmp) / "sb", app_base_url=app_url) as sandbox,
    ):
        settings = Settings(
            public_url=app_url,
            database_url=f"sqlite:///{tmp}/app.sqlite3",
            registrations=write_registration(Path(tmp) / "reg", sandbox),
        )
        app = create_app(settings)
        counter: list[str] = []
        ehr = app.extensions["second_opinion"].http.session_for(sandbox.fhir_base)
        ehr.hooks["response"].append(lambda r, *a, **k: counter.append(r.request.method or ""))
        server = make_server("127.0.0.1", app_port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            small, small_requests = _compose(sandbox, "wc-1", counter)
            heavy, heavy_requests = _compose(sandbox, "wc-6", counter)
            send, send_requests = _send(sandbox, counter)
            with app.extensions["second_opinion"].store.session() as db:
                rows = db.query(LaunchSession).filter(LaunchSession.patient == "wc-6").all()
                chart_json = next(r.chart_json for r in rows if r.chart_json)
        finally:
            server.shutdown()
    mapping, rebuild = _mapping(chart_json)
    print("| what | median ms | p95 ms | EHR requests each | rounds |")
    print("|---|---|---|---|---|")
    print(_row("compose page, small chart (wc-1: 2 active conditions)", small, small_requests))
    print(_row("compose page, heavy chart (wc-6: 320 active conditions)", heavy, heavy_requests))
    print(
        _row(
            "send referral: validate, create with If-None-Exist, confirmation read-back", send, send_requests
        )
    )
    print(f"| service_request_from_referral (pure, 3 questions, 3 reasons) | {mapping:.3f} | | 0 | 200 |")
    print(f"| chart_from_json (320 conditions, 9 physicians) | {rebuild:.3f} | | 0 | 200 |")


if __name__ == "__main__":
    main()
