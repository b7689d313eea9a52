"""``flask --app smart_app smoke NAME`` against the local sandbox, the browser step driven by requests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from smart_app.crypto import new_key_line
from tests.sandbox_server import REPO_ROOT, Sandbox, free_port, start_sandbox, write_registration


@pytest.fixture(scope="module")
def smoke_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, str, Path]]:
    root = tmp_path_factory.mktemp("smoke")
    app_url = f"http://127.0.0.1:{free_port()}"  # nothing serves it: smoke listens there itself
    with start_sandbox(data_dir=root / "sandbox", app_base_url=app_url) as sandbox:
        yield sandbox, app_url, write_registration(root / "registrations", sandbox)


def _smoke(app_url: str, registrations: Path, tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SMART_APP_PUBLIC_URL": app_url, "SMART_APP_REGISTRATIONS": str(registrations),
           "SMART_APP_DATABASE_URL": f"sqlite:///{tmp / 'smoke.sqlite3'}",
           "SMART_APP_DATA_KEYS": new_key_line("smoke")}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "smart_app", "smoke", *args],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_smoke_launches_reads_and_prints_no_phi(smoke_sandbox: tuple[Sandbox, str, Path],
                                                 tmp_path: Path) -> None:
    sandbox, app_url, registrations = smoke_sandbox
    process = _smoke(app_url, registrations, tmp_path, "sandbox", "--wait", "60")
    assert process.stdout is not None
    assert process.stdout.readline().startswith("Open this URL")
    authorize_url = process.stdout.readline().strip()
    assert authorize_url.startswith(f"{sandbox.ehr_url}oauth/authorize?")
    # the person signs in and picks the patient on the EHR's page; the EHR redirects to the listener
    signed_in = requests.post(authorize_url, data={"practitioner": "atp-1", "patient": "wc-1",
                                                   "decision": "allow"}, timeout=30)
    assert signed_in.status_code == 200 and "You can close this tab" in signed_in.text
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "result: OK" in out
    assert ("capabilities: conditions, confirm, coverage, directory, documents, patient, provenance, "
            "reports, send") in out
    assert "workers' comp coverage: found" in out
    assert "requester: Practitioner" in out
    for phi in ("wc-1", "Whitfield", "Dana", "1984-03-12", "WC-2026-001234", "atp-1"):
        assert phi not in out + err


def test_smoke_names_the_registrations_it_knows(smoke_sandbox: tuple[Sandbox, str, Path],
                                                 tmp_path: Path) -> None:
    _, app_url, registrations = smoke_sandbox
    process = _smoke(app_url, registrations, tmp_path, "epic")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "no registration 'epic' is loaded (loaded: sandbox)" in err
