"""Start the local sandbox EHR (`launch/`) as a subprocess for tests.

The sandbox runs in its own venv (`launch/.venv`, created by `make test` with
`uv sync --frozen`); this module only needs the standard library and `requests`.
"""

from __future__ import annotations

import os
import queue
import secrets
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
SANDBOX_PYTHON = REPO_ROOT / "launch" / ".venv" / "bin" / "python"
READY_PREFIX = "Sandbox EHR ready: "
START_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0
ADMIN_CLIENT_ID = "sandbox-admin"


class SandboxStartError(RuntimeError):
    """The sandbox could not be started or did not become ready."""


class _TimeoutSession(requests.Session):
    """A Session whose every request has a timeout unless one is given."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: its URLs and the admin client's secret."""

    ehr_url: str
    fhir_base: str
    clinic_fhir_base: str
    admin_secret: str
    client_secret: str = ""  # the symmetric clients' ({client_id}-basic, -post) secret
    data_dir: Path | None = None  # its SANDBOX_DATA_DIR (its keys live there)

    def admin_session(self, clinic: bool = False) -> requests.Session:
        """A session with a `system/*.*` bearer token from sekmet's own /auth/token."""
        base = self.clinic_fhir_base if clinic else self.fhir_base
        response = requests.post(
            f"{base.removesuffix('/fhir')}/auth/token",
            data={"grant_type": "client_credentials", "scope": "system/*.*"},
            auth=(ADMIN_CLIENT_ID, self.admin_secret),
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        session = _TimeoutSession()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        session.headers["Accept"] = "application/fhir+json"
        return session


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def start_sandbox(
    *,
    data_dir: Path,
    app_base_url: str,
    ehr_port: int | None = None,
    clinic_port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Sandbox]:
    """Run `python -m sandbox_ehr` until the block ends; the app lives at `app_base_url`."""
    if not SANDBOX_PYTHON.exists():
        raise SandboxStartError(
            f"{SANDBOX_PYTHON} is missing: run `make test` (or `cd launch && uv sync --frozen`)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    ehr_port = ehr_port or free_port()
    clinic_port = clinic_port or free_port()
    secret, client_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    env = _environment(data_dir, app_base_url.rstrip("/"), ehr_port, clinic_port, secret)
    env["SANDBOX_CLIENT_SECRET"] = client_secret
    env.update(extra_env or {})
    stderr_path = data_dir / "sandbox.stderr.log"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [str(SANDBOX_PYTHON), "-m", "sandbox_ehr"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        assert process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        pump = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        pump.start()
        try:
            ehr_url = _wait_ready(process, lines, stderr_path)
            yield Sandbox(ehr_url=ehr_url, fhir_base=f"{ehr_url}fhir",
                          clinic_fhir_base=f"http://127.0.0.1:{clinic_port}/fhir",
                          admin_secret=secret, client_secret=client_secret, data_dir=data_dir)
        finally:
            _stop(process)
            pump.join(timeout=5)
            process.stdout.close()


def _environment(
    data_dir: Path, app: str, ehr_port: int, clinic_port: int, secret: str
) -> dict[str, str]:
    """The SANDBOX_* variables for one run."""
    return {
        **os.environ,
        "SANDBOX_HOST": "127.0.0.1",
        "SANDBOX_EHR_PORT": str(ehr_port),
        "SANDBOX_CLINIC_PORT": str(clinic_port),
        "SANDBOX_DATA_DIR": str(data_dir),
        "SANDBOX_APP_LAUNCH_URL": f"{app}/launch",
        "SANDBOX_APP_REDIRECT_URIS": f"{app}/callback",
        "SANDBOX_APP_JWKS_URL": f"{app}/.well-known/jwks.json",
        "SANDBOX_ADMIN_SECRET": secret,
    }


def _wait_ready(
    process: subprocess.Popen[str], lines: queue.Queue[str], stderr_path: Path
) -> str:
    """Return the EHR URL from the ready line, or fail with the end of stderr."""
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line.startswith(READY_PREFIX):
                return line.removeprefix(READY_PREFIX).strip()
            if not line:
                break
    except queue.Empty:
        pass
    _stop(process)
    tail = stderr_path.read_text(errors="replace")[-3000:]
    raise SandboxStartError(f"sandbox EHR did not become ready; stderr tail:\n{tail}")


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    """Copy stdout lines into the queue; an empty string marks the end."""
    for line in stream:
        lines.put(line)
    lines.put("")


def _stop(process: subprocess.Popen[str]) -> None:
    """Terminate the sandbox, killing it if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def write_registration(folder: Path, sandbox: Sandbox) -> Path:
    """A registrations folder holding the sandbox's registration, as an operator would write it."""
    folder.mkdir(parents=True, exist_ok=True)
    template = (REPO_ROOT / "launch" / "registrations" / "sandbox.toml").read_text()
    text = template.replace(
        "${SANDBOX_FHIR_BASE_URL:-http://127.0.0.1:8001/fhir}", sandbox.fhir_base
    )
    assert sandbox.fhir_base in text, "launch/registrations/sandbox.toml changed its iss line"
    text = text.replace("${SANDBOX_EHR_URL:-http://127.0.0.1:8001}", sandbox.ehr_url.rstrip("/"))
    (folder / "sandbox.toml").write_text(text)
    return folder


def write_clinic_registration(folder: Path, sandbox: Sandbox) -> Path:
    """Add the sandbox clinic's registration (the physicians' EHR) to a registrations folder."""
    folder.mkdir(parents=True, exist_ok=True)
    template = (REPO_ROOT / "launch" / "registrations" / "sandbox-clinic.toml").read_text()
    text = template.replace(
        "${SANDBOX_CLINIC_FHIR_BASE_URL:-http://127.0.0.1:8002/fhir}", sandbox.clinic_fhir_base
    )
    assert sandbox.clinic_fhir_base in text, "launch/registrations/sandbox-clinic.toml changed its iss line"
    (folder / "sandbox-clinic.toml").write_text(text)
    return folder


def write_receiver(folder: Path, sandbox: Sandbox) -> Path:
    """A receivers folder registering the sandbox's receiving clinic, as an operator would."""
    folder.mkdir(parents=True, exist_ok=True)
    template = (REPO_ROOT / "launch" / "receivers" / "sandbox-clinic.toml").read_text()
    text = template.replace(
        "${SANDBOX_CLINIC_FHIR_BASE_URL:-http://127.0.0.1:8002/fhir}", sandbox.clinic_fhir_base
    )
    assert sandbox.clinic_fhir_base in text, "launch/receivers/sandbox-clinic.toml changed its base_url"
    (folder / "sandbox-clinic.toml").write_text(text)
    return folder
