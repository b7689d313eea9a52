"""Settings and registrations: read once, validated, with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from smart_app.config import ConfigError, Settings, expand_env, load_registrations

SCOPES = 'scopes = "launch openid fhirUser"\n'


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def test_the_shipped_sandbox_registration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_FHIR_BASE_URL", raising=False)
    registrations = load_registrations(Path(__file__).parents[2] / "launch" / "registrations")
    sandbox = registrations["http://127.0.0.1:8001/fhir"]
    assert (sandbox.key, sandbox.client_id, sandbox.client_auth) == (
        "sandbox",
        "second-opinion",
        "none",
    )


def test_the_shipped_clinic_registration_is_for_physicians(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_CLINIC_FHIR_BASE_URL", raising=False)
    registrations = load_registrations(Path(__file__).parents[2] / "launch" / "registrations")
    clinic = registrations["http://127.0.0.1:8002/fhir"]
    assert (clinic.key, clinic.client_id, clinic.roles, clinic.refresh) == (
        "sandbox-clinic",
        "second-opinion",
        ("physician",),
        "online_access",
    )
    assert registrations["http://127.0.0.1:8001/fhir"].roles == ("atp",)  # the default


def test_env_references_expand_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHR_BASE", "https://ehr.example.org/fhir")
    monkeypatch.delenv("MISSING", raising=False)
    assert expand_env("${EHR_BASE}/x ${MISSING:-d}") == "https://ehr.example.org/fhir/x d"
    with pytest.raises(ConfigError, match="MISSING"):
        expand_env("${MISSING}")


def test_iss_is_normalised_and_keyed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "epic.toml",
        f'name = "Epic"\niss = "https://fhir.epic.example/api/FHIR/R4/"\nclient_id = "c"\n{SCOPES}',
    )
    assert list(load_registrations(tmp_path)) == ["https://fhir.epic.example/api/FHIR/R4"]


@pytest.mark.parametrize(
    "body, message",
    [
        (f'name = "x"\niss = "not a url"\nclient_id = "c"\n{SCOPES}', "iss"),
        (f'name = "x"\niss = "https://a/fhir"\n{SCOPES}', "client_id"),
        (
            f'name = "x"\niss = "https://a/fhir"\nclient_id = "c"\n'
            f'client_auth = "client_secret_basic"\n{SCOPES}',
            "client_secret_env",
        ),
        ('name = "x" iss', "x.toml"),
        (
            f'name = "x"\niss = "https://a/fhir"\nclient_id = "c"\nsecret = "inline"\n{SCOPES}',
            "secret",
        ),
        (f'name = "x"\niss = "https://a/fhir"\nclient_id = "c"\nroles = []\n{SCOPES}', "roles"),
        (f'name = "x"\niss = "https://a/fhir"\nclient_id = "c"\nroles = ["ime"]\n{SCOPES}', "roles"),
    ],
)
def test_bad_registrations_fail_fast(tmp_path: Path, body: str, message: str) -> None:
    _write(tmp_path, "x.toml", body)
    with pytest.raises(ConfigError, match=message):
        load_registrations(tmp_path)


def test_an_empty_registrations_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no EHR registrations"):
        load_registrations(tmp_path)


def test_settings_refuse_a_relative_public_url() -> None:
    with pytest.raises(ValueError):
        Settings(public_url="localhost:8000")
