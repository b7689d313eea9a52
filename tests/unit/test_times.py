"""Times people read are in the deployment's zone; machines get the UTC instant."""

from datetime import UTC, datetime

import pytest
from flask import Flask

from smart_app.config import Settings
from smart_app.web.times import local_text, time_element


def test_a_utc_instant_reads_in_colorado_time(flask_app: Flask) -> None:
    with flask_app.app_context():
        winter = datetime(2026, 12, 6, 19, 5, tzinfo=UTC)
        summer = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
        assert local_text(winter) == "2026-12-06 12:05 MST"
        assert local_text(summer) == "2026-07-01 12:00 MDT"
        assert str(time_element(winter, seconds=True)) == (
            '<time datetime="2026-12-06T19:05:00Z">2026-12-06 12:05:00 MST</time>'
        )


def test_an_unknown_zone_stops_start_up() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        Settings(time_zone="Mars/Olympus_Mons", data_keys="x")


def test_a_fhir_date_time_with_its_offset_reads_in_the_zone(flask_app: Flask) -> None:
    from smart_app.web.times import fhir_time_element

    with flask_app.app_context():
        assert "2026-12-09 09:30 MST" in str(fhir_time_element("2026-12-09T09:30:00-07:00"))
        assert fhir_time_element("2026-12-09") == "2026-12-09" and fhir_time_element(None) == ""
