"""Where the app's CPU goes in one ATP journey: ``python -m tests.bench.profile [JOURNEYS]``.

Starts the sandbox and the app (werkzeug, in this process), warms up, then runs JOURNEYS
(default 40) app journeys on wc-1 one after another with cProfile on the app's requests
only. Prints the app thread's CPU per journey without the profiler, then with it, the
database transactions per journey (counted at the engine: tests/bench/transactions.py) by
request and by caller, and the functions of our own code and its libraries by cumulative
time (``PROFILE_SORT=tottime``: by their own time; ``PROFILE_FILTER=.``: every function).
Not part of ``make test``; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import collections
import cProfile
import io
import logging
import os
import pstats
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from tests.bench.journey import Counter, app_journey
from tests.bench.transactions import EngineTransactions
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_receiver, write_registration

WARM_UP = 5
OURS = "smart_app|fhir_mappings|jinja2|pydantic|fhir_core|sqlalchemy/orm/session|joserfc|authlib|cryptography"
SORT = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime: where the time is spent itself
SHOWN = os.environ.get("PROFILE_FILTER", OURS)  # "." for every function, the standard library's too


class Meter:
    """A WSGI wrapper that adds up the handling thread's CPU time, optionally under cProfile."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app, self.cpu_seconds = app, 0.0
        self.by_request: dict[str, float] = collections.defaultdict(float)  # CPU seconds by request
        self.profiler: cProfile.Profile | None = None  # set to profile the requests that follow

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.thread_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            spent = time.thread_time() - started
            self.cpu_seconds += spent
            self.by_request[_request_name(environ)] += spent


def _request_name(environ: dict[str, Any]) -> str:
    path = re.sub(r"/l/[0-9a-f]{32}", "/l/<key>", environ.get("PATH_INFO", ""))
    return f"{environ.get('REQUEST_METHOD')} {re.sub(r'/referrals/[0-9a-f]{32}', '/referrals/<id>', path)}"


def _journeys(sandbox: Sandbox, app_url: str, counter: Counter, count: int) -> None:
    for _ in range(count):
        app_journey(sandbox, app_url, "wc-1", counter)


def main(journeys: int) -> None:
    logging.disable(logging.INFO)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp, \
            start_sandbox(data_dir=Path(tmp) / "sb", app_base_url=app_url) as sandbox:
        settings = Settings(public_url=app_url, database_url=f"sqlite:///{tmp}/app.sqlite3",
                            registrations=write_registration(Path(tmp) / "reg", sandbox),
                            receivers=write_receiver(Path(tmp) / "receivers", sandbox),
                            data_keys=new_key_line("profile"))  # fmt: skip
        app = create_app(settings)
        meter = Meter(app.wsgi_app)
        app.wsgi_app = meter  # type: ignore[method-assign]
        services = app.extensions["second_opinion"]
        transactions = EngineTransactions(services.store.engine)
        counter = Counter(services.http.for_url(sandbox.fhir_base), sandbox.ehr_url.rstrip("/"))
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            _journeys(sandbox, app_url, counter, WARM_UP)
            meter.cpu_seconds = 0.0
            meter.by_request.clear()
            transactions.clear()
            _journeys(sandbox, app_url, counter, journeys)
            plain = meter.cpu_seconds / journeys * 1000
            spent_by_request = sorted(meter.by_request.items(), key=lambda item: -item[1])
            cpu_by_request = {name: spent / journeys * 1000 for name, spent in spent_by_request}
            by_request = {name: n / journeys for name, n in transactions.by_request.most_common()}
            by_caller = {name: n / journeys for name, n in transactions.by_caller.most_common()}
            transactions.remove()
            meter.profiler, meter.cpu_seconds = cProfile.Profile(), 0.0
            _journeys(sandbox, app_url, counter, journeys)
            profiled = meter.cpu_seconds / journeys * 1000
        finally:
            server.shutdown()
            server.server_close()
    print(f"app thread CPU per journey: {plain:.1f} ms ({profiled:.1f} ms under cProfile), "
          f"{journeys} journeys")
    for name, ms in cpu_by_request.items():
        print(f"  {ms:5.1f} ms  {name}")
    print(f"database transactions per journey (engine \"begin\" events): {sum(by_request.values()):.1f}")
    for title, counts in (("by request", by_request), ("by the app's code that began them", by_caller)):
        print(f"  {title}:")
        for name, per_journey in counts.items():
            print(f"    {per_journey:4.1f}  {name}")
    out = io.StringIO()
    assert meter.profiler is not None
    pstats.Stats(meter.profiler, stream=out).sort_stats(SORT).print_stats(SHOWN, 45)
    print(out.getvalue())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
