"""Benchmark: CDS Hooks patient-view with prefetch and without (one batch), and the sandbox chart page.

Run with ``make bench`` (or ``python -m tests.bench.cds [CALLS]``). Starts the sandbox (subprocess)
and the app (werkzeug in a thread) on free ports of 127.0.0.1, signs each call's JWT beforehand
(the client's cost, not the service's) and prints the Markdown table of docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from flask import Flask
from requests.adapters import HTTPAdapter
from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from tests.bench.run import DelayingAdapter
from tests.cds_calls import PATIENT_VIEW, hook_body, prefetch, signed_jwt, templates
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_receiver, write_registration

PATIENT = "wc-10"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]


def _timed(calls: int, one: Callable[[], int]) -> tuple[list[float], set[int]]:
    one()  # warm-up: the JWKS fetch, connections
    times, statuses = [], set()
    for _ in range(calls):
        started = time.perf_counter()
        statuses.add(one())
        times.append((time.perf_counter() - started) * 1000)
    return times, statuses


def _row(name: str, times: list[float], statuses: set[int], trips: str) -> str:
    return (
        f"| {name} | {len(times)} | {statistics.median(times):.1f} | {_p95(times):.1f} | "
        f"{max(times):.1f} | {trips} | {','.join(map(str, sorted(statuses)))} |"
    )


def _hook(
    app_url: str, session: requests.Session, tokens: list[str], body: dict[str, object]
) -> Callable[[], int]:
    endpoint = f"{app_url}/cds-services/{PATIENT_VIEW}"

    def one() -> int:
        response = session.post(
            endpoint, json=body, headers={"Authorization": f"Bearer {tokens.pop()}"}, timeout=10
        )
        assert response.status_code == 200 and response.json()["cards"], response.text[:300]
        return response.status_code

    return one


def _in_process(app: Flask, sandbox: Sandbox, app_url: str, body: dict[str, object], calls: int) -> None:
    """The same call through Flask's test client: the service's own time, without HTTP or a client."""
    endpoint = f"{app_url}/cds-services/{PATIENT_VIEW}"
    tokens = [signed_jwt(sandbox, endpoint) for _ in range(calls + 1)]
    client = app.test_client()

    def one() -> int:
        response = client.post(
            f"/cds-services/{PATIENT_VIEW}", json=body, headers={"Authorization": f"Bearer {tokens.pop()}"}
        )
        return response.status_code

    print(_row("patient-view with prefetch, in process (no HTTP)", *_timed(calls, one), "0"))


def _measure(sandbox: Sandbox, app_url: str, ehr: requests.Session, calls: int) -> dict[str, object]:
    endpoint = f"{app_url}/cds-services/{PATIENT_VIEW}"
    client = requests.Session()
    with_prefetch = hook_body(
        "patient-view", PATIENT, prefetch=prefetch(sandbox, templates(app_url, PATIENT_VIEW), PATIENT)
    )
    admin = str(sandbox.admin_session().headers["Authorization"]).split(" ", 1)[1]
    without = hook_body(
        "patient-view",
        PATIENT,
        fhirServer=sandbox.fhir_base,
        fhirAuthorization={
            "access_token": admin,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "system/*.rs",
            "subject": "second-opinion-cds",
        },
    )
    trips: list[int] = []
    ehr.hooks["response"].append(lambda response, *a, **k: trips.append(1))
    print("| call | calls | median ms | p95 ms | max ms | EHR requests per call | statuses |")
    print("|---|---|---|---|---|---|---|")
    for name, body in (
        ("patient-view with prefetch", with_prefetch),
        ("patient-view, no prefetch (one batch)", without),
    ):
        trips.clear()
        tokens = [signed_jwt(sandbox, endpoint) for _ in range(calls + 1)]
        times, statuses = _timed(calls, _hook(app_url, client, tokens, body))
        print(_row(name, times, statuses, f"{len(trips) / (calls + 1):g}"))
    origin = sandbox.ehr_url.rstrip("/")
    delaying = DelayingAdapter()
    ehr.mount(origin, delaying)
    try:
        trips.clear()
        tokens = [signed_jwt(sandbox, endpoint) for _ in range(21)]
        times, statuses = _timed(20, _hook(app_url, client, tokens, without))
        print(_row("no prefetch, 50 ms added per EHR request", times, statuses, f"{len(trips) / 21:g}"))
    finally:
        ehr.mount(origin, HTTPAdapter())
    chart = f"{sandbox.ehr_url}ehr/chart"
    page = _timed(
        calls // 4,
        lambda: (
            requests.get(chart, params={"practitioner": "atp-1", "patient": PATIENT}, timeout=10).status_code
        ),
    )
    print(_row("sandbox chart page (EHR → app → page)", *page, "(prefetch)"))
    return with_prefetch


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_sandbox(data_dir=Path(tmp) / "sb", app_base_url=app_url) as sandbox,
    ):
        settings = Settings(
            public_url=app_url,
            database_url=f"sqlite:///{tmp}/app.sqlite3",
            registrations=write_registration(Path(tmp) / "reg", sandbox),
            receivers=write_receiver(Path(tmp) / "receivers", sandbox),
            data_keys=new_key_line("bench"),
        )
        app = create_app(settings)
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            ehr = app.extensions["second_opinion"].http.for_url(sandbox.fhir_base)
            _in_process(app, sandbox, app_url, _measure(sandbox, app_url, ehr, calls), calls)
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
