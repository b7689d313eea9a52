"""The app under gunicorn with ``smart_app.gunicorn_conf``, as ``make run`` starts it, beside its own sandbox.

A hung EHR does not stall ``/healthz``; gunicorn's own error pages carry the
security headers; the app's events reach the server's log as an audit trail.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from smart_app.crypto import DataKeys, new_key_line
from smart_app.store import Launch, Store
from tests.fault_proxy import Fault, FaultProxy, running_proxy
from tests.pages import launch_from_ehr, launch_key, referral_form
from tests.phi_check import SENTINEL_PATIENT, SENTINEL_QUESTION, remember_secret
from tests.sandbox_server import (
    REPO_ROOT,
    Sandbox,
    free_port,
    start_sandbox,
    write_receiver,
    write_registration,
)

GUNICORN = REPO_ROOT / ".venv" / "bin" / "gunicorn"


@dataclass(frozen=True)
class Served:
    url: str
    sandbox: Sandbox
    store: Store
    log: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with start_sandbox(data_dir=root / "sandbox", app_base_url=url) as sandbox:
        database = f"sqlite:///{root / 'app.sqlite3'}"
        data_keys = new_key_line("gunicorn")
        env = {"SMART_APP_DATA_KEYS": data_keys,
               "PATH": "/usr/bin:/bin", "SMART_APP_PUBLIC_URL": url, "SMART_APP_DATABASE_URL": database,
               "SMART_APP_REGISTRATIONS": str(write_registration(root / "registrations", sandbox)),
               "SMART_APP_HTTP_TIMEOUT_SECONDS": "3",
               "SMART_APP_RECEIVERS": str(write_receiver(root / "receivers", sandbox))}
        log = root / "gunicorn.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [str(GUNICORN), "-c", "python:smart_app.gunicorn_conf", "--bind", f"127.0.0.1:{port}"],
                cwd=REPO_ROOT, env=env, stderr=stderr, stdout=stderr,
            )
        try:
            _wait_healthy(url, process, log)
            yield Served(url, sandbox, Store(database, DataKeys.parse(data_keys)), log)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(300):
        assert process.poll() is None, f"gunicorn exited:\n{log.read_text()[-4000:]}"
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                return
        except requests.RequestException:  # not listening yet, or a worker still booting
            time.sleep(0.1)
    raise AssertionError("gunicorn did not become healthy")


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT AN HTTP REQUEST at all\r\n\r\n", b"400"),
        (b"GET /?code=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", b"414"),
        (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(120)) + b"\r\n",
         b"431"),
    ],
)
def test_the_servers_own_error_pages_carry_the_security_headers(
    served: Served, request_bytes: bytes, status: bytes
) -> None:
    answer = _raw(served.url, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == status
    for header in (b"Content-Security-Policy: default-src 'none'", b"X-Content-Type-Options: nosniff",
                   b"Referrer-Policy: no-referrer", b"Cache-Control: no-store"):
        assert header in head
    assert b"xxxx" not in body and b"NOT AN HTTP" not in body  # the request is never echoed


def test_a_hung_ehr_leaves_healthz_and_other_users_instant(served: Served) -> None:
    """Defect: with the EHR stopped, /healthz took 9 s and other users' pages 20 s."""
    with running_proxy(served.sandbox.fhir_base) as proxy:
        proxy.faults.append(Fault("*", "/fhir", delay_before=8.0))
        browsers = [_launch_through(served, proxy) for _ in range(2)]
        hung = [threading.Thread(target=_get_quietly, args=(b, f"{served.url}/compose"))
                for _ in range(20) for b in browsers]
        for thread in hung:
            thread.start()
        time.sleep(1.0)  # every hung request is now waiting on the EHR or refused
        started = time.perf_counter()
        assert requests.get(f"{served.url}/healthz", timeout=10).ok
        assert requests.get(f"{served.url}/", timeout=10).ok
        assert time.perf_counter() - started < 0.5
        proxy.faults.clear()
        for thread in hung:
            thread.join(timeout=30)


def _launch_through(served: Served, proxy: FaultProxy) -> requests.Session:
    browser, page = launch_from_ehr(served.sandbox, patient="wc-1")
    assert page.status_code == 200, page.text
    with served.store.transaction() as db:
        row = db.get(Launch, launch_key(page.url))
        assert row is not None
        row.iss, row.chart_read_at = proxy.base, None  # the compose page reads the chart again
    return browser


def _get_quietly(browser: requests.Session, url: str) -> None:
    try:
        browser.get(url, timeout=30)
    except requests.RequestException:
        pass


def test_the_apps_events_reach_the_server_log_without_phi(served: Served) -> None:
    browser, page = launch_from_ehr(served.sandbox, patient=SENTINEL_PATIENT)
    assert page.status_code == 200
    remember_secret(next(iter(browser.cookies.values())))
    data = referral_form(page.text, question=[SENTINEL_QUESTION])
    answer = browser.post(page.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert answer.status_code == 200
    created = f"referral.created id={data['referral_id']}"
    deadline = time.monotonic() + 10  # the worker writes its log line after answering
    while created not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = served.log.read_text()
    assert "launch.completed registration=" in log
    assert f"referral.created id={data['referral_id']}" in log
