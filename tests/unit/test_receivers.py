"""Receiver registrations: one TOML per receiving endpoint, ${ENV:-default} expanded, validated."""

from pathlib import Path

import pytest

from smart_app.config import ConfigError
from smart_app.referrals.receivers import load_receivers, receiver_for

GOOD = """
name = "Clinic"
base_url = "${TEST_CLINIC_URL:-https://clinic.example.org/fhir/}"
client_id = "second-opinion"
client_auth = "private_key_jwt"
scopes = "system/Task.rs system/*.c"
"""


def test_a_registration_is_read_with_its_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clinic.toml").write_text(GOOD)
    [receiver] = load_receivers(tmp_path).values()
    assert (receiver.key, receiver.base_url, receiver.kid) == (
        "clinic",
        "https://clinic.example.org/fhir",
        None,
    )
    monkeypatch.setenv("TEST_CLINIC_URL", "https://other.example.org/fhir")
    assert list(load_receivers(tmp_path)) == ["https://other.example.org/fhir"]


def test_only_a_registered_endpoint_is_found(tmp_path: Path) -> None:
    (tmp_path / "clinic.toml").write_text(GOOD)
    receivers = load_receivers(tmp_path)
    assert receiver_for(receivers, "https://clinic.example.org/fhir/") is not None
    assert receiver_for(receivers, "https://clinic.example.org/other") is None
    assert receiver_for(receivers, None) is None
    assert load_receivers(tmp_path / "missing") == {}


@pytest.mark.parametrize(
    "change",
    [
        ('client_auth = "private_key_jwt"', 'client_auth = "client_secret_basic"'),
        ('scopes = "system/Task.rs system/*.c"', 'scopes = "patient/Task.rs"'),
        ('base_url = "${TEST_CLINIC_URL:-https://clinic.example.org/fhir/}"', 'base_url = "clinic"'),
        ('name = "Clinic"', 'name = "Clinic"\nsecret = "x"'),
    ],
)
def test_a_wrong_registration_stops_the_app(tmp_path: Path, change: tuple[str, str]) -> None:
    (tmp_path / "clinic.toml").write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError, match="clinic.toml"):
        load_receivers(tmp_path)


def test_two_files_for_one_endpoint_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="already registered"):
        load_receivers(tmp_path)
