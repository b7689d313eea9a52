"""Settings: each one documented in the README, the thresholds reach the rules, a CDS client is whole."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from smart_app.config import Registration, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_has_a_row_in_the_configuration_table() -> None:
    rows = {line.split("|")[1].strip() for line in README.splitlines() if line.startswith("| `SMART_APP_")}
    assert {f"`SMART_APP_{name.upper()}`" for name in Settings.model_fields} <= rows


def test_the_thresholds_reach_the_rules() -> None:
    settings = Settings(stuck_weeks_without_mmi=12, stuck_min_function_gain=5.5, data_keys="")
    assert settings.stuck_thresholds.weeks_without_mmi == 12
    assert settings.stuck_thresholds.min_function_gain == 5.5


def test_a_cds_client_names_both_its_iss_and_its_keys() -> None:
    base = {
        "key": "ehr",
        "name": "EHR",
        "iss": "https://ehr.example/fhir",
        "client_id": "so",
        "scopes": "launch",
    }
    both = Registration.model_validate(
        {**base, "cds_client_iss": "https://ehr.example", "cds_jwks_uri": "https://ehr.example/jwks/"}
    )
    assert both.cds_jwks_uri == "https://ehr.example/jwks"
    for half in ({"cds_client_iss": "https://ehr.example"}, {"cds_jwks_uri": "https://ehr.example/jwks"}):
        with pytest.raises(ValidationError, match="set both or neither"):
            Registration.model_validate({**base, **half})
    with pytest.raises(ValidationError):
        Registration.model_validate({**base, "cds_client_iss": "x", "cds_jwks_uri": "file:///etc/keys"})
