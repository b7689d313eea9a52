"""Load: concurrent ATPs against the app under gunicorn (``smart_app.gunicorn_conf``), a bounded script.

Each simulated ATP runs whole journeys (launch → compose → send) back to back
for a fixed time; the app's CPU is read from /proc for gunicorn's processes.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.bench.journey import Counter, app_journey
from tests.sandbox_server import REPO_ROOT, Sandbox

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class LoadResult:
    users: int
    seconds: float
    journeys: int
    errors: int
    p50_ms: float
    p95_ms: float
    cpu_ms_per_journey: float


@contextmanager
def gunicorn(app_url: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run the app as ``make run`` does, on ``app_url``'s port, until the block ends."""
    port = app_url.rsplit(":", 1)[1]
    process = subprocess.Popen(
        [str(REPO_ROOT / ".venv/bin/gunicorn"), "-c", "python:smart_app.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT, env={**os.environ, **env}, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if requests.get(f"{app_url}/healthz", timeout=1).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def cpu_seconds(master: int) -> float:
    """User + system CPU of gunicorn's master and its workers."""
    pids = [master] + [int(p) for p in _children(master)]
    return sum(_cpu(pid) for pid in pids)


def _children(pid: int) -> list[str]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return path.read_text().split() if path.exists() else []


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_load(sandbox: Sandbox, app_url: str, master: int, users: int, seconds: float,
             patient: str) -> LoadResult:
    """``users`` threads doing journeys for ``seconds``; returns what they saw."""
    samples: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    counter = Counter(requests.Session(), "-")  # counts nothing: no EHR session in this process

    def atp() -> None:
        while time.perf_counter() < deadline:
            try:
                samples.append(app_journey(sandbox, app_url, patient, counter).total_ms)
            except (AssertionError, requests.RequestException) as error:
                errors.append(type(error).__name__)

    cpu_before = cpu_seconds(master)
    threads = [threading.Thread(target=atp) for _ in range(users)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(master) - cpu_before
    done = len(samples)
    return LoadResult(users, elapsed, done, len(errors), statistics.median(samples),
                      statistics.quantiles(samples, n=20)[18], cpu * 1000 / max(done, 1))
