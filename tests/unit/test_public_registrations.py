"""The public sandbox registrations in launch/registrations load only with their environment set."""

from __future__ import annotations

from pathlib import Path

import pytest

from smart_app.config import load_registrations

FOLDER = Path(__file__).resolve().parents[2] / "launch" / "registrations"
ENABLING = {"SMART_LAUNCHER_CLIENT_ID": "second-opinion", "HAPI_R4_ENABLED": "1",
            "EPIC_CLIENT_ID": "epic-client", "ORACLE_HEALTH_CLIENT_ID": "oracle-client",
            "MEDPLUM_CLIENT_ID": "medplum-client", "MEDPLUM_CLIENT_SECRET": "from-the-environment"}


def test_without_their_variables_only_the_local_sandbox_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENABLING:
        monkeypatch.delenv(name, raising=False)
    assert {r.key for r in load_registrations(FOLDER).values()} == {"sandbox", "sandbox-clinic"}


def test_with_their_variables_every_public_sandbox_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENABLING.items():
        monkeypatch.setenv(name, value)
    by_key = {r.key: r for r in load_registrations(FOLDER).values()}
    assert set(by_key) == {
        "sandbox", "sandbox-clinic", "smart-launcher", "hapi-r4", "epic", "oracle-health", "medplum"
    }
    assert by_key["smart-launcher"].iss == "https://launch.smarthealthit.org/v/r4/fhir"
    assert by_key["hapi-r4"].open_server and not by_key["hapi-r4"].open_server_writes
    assert by_key["epic"].client_auth == "none" and by_key["epic"].client_id == "epic-client"
    assert by_key["medplum"].client_secret == "from-the-environment"
    assert all("from-the-environment" not in path.read_text() for path in FOLDER.glob("*.toml"))
