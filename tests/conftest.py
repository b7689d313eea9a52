"""Real servers for the integration and browser tests: the sandbox EHR and the app, on 127.0.0.1.

The sandbox (FHIR servers + SMART authorization server) runs as a subprocess
from its own venv; the app runs in a thread under werkzeug's WSGI server, so
that tests reach both over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from smart_app.keys import generate_key_file
from tests.sandbox_server import (
    Sandbox,
    free_port,
    start_sandbox,
    write_clinic_registration,
    write_receiver,
    write_registration,
)

pytest_plugins = ["tests.phi_check"]


@pytest.fixture(scope="session")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def app_url(app_port: int) -> str:
    return f"http://127.0.0.1:{app_port}"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory, app_url: str) -> Iterator[Sandbox]:
    with start_sandbox(
        data_dir=tmp_path_factory.mktemp("sandbox"), app_base_url=app_url
    ) as running:
        yield running


@pytest.fixture(scope="session")
def app_settings(
    tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox, app_url: str
) -> Settings:
    root = tmp_path_factory.mktemp("app")
    generate_key_file(root / "signing-key.pem")
    return Settings(
        public_url=app_url,
        database_url=f"sqlite:///{root / 'app.sqlite3'}",
        registrations=write_clinic_registration(write_registration(root / "registrations", sandbox), sandbox),
        cookie_secure=True,  # the production default; browsers treat 127.0.0.1 as a secure context
        data_keys=new_key_line("test"),
        signing_key_files=str(root / "signing-key.pem"),
        receivers=write_receiver(root / "receivers", sandbox),
        http_timeout_seconds=2.0,  # loopback answers in ms; the fault tests wait out timeouts
    )


@pytest.fixture(scope="session")
def flask_app(app_settings: Settings) -> Flask:
    return create_app(app_settings)


@pytest.fixture(scope="session")
def live_app(flask_app: Flask, app_port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", app_port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{app_port}"
    server.shutdown()
    thread.join(timeout=5)
