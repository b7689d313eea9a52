"""Large charts: read whole, in as few requests as the server allows, and never silently partial."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.charts import grow_chart
from tests.pages import fhir_calls_during_launch, form_fields
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def test_a_chart_larger_than_the_old_cap_is_read_whole(sandbox: Sandbox, flask_app: Flask) -> None:
    """Defect: 5,000 active conditions showed as 2,000 with no notice (a silent page cap)."""
    grow_chart(sandbox, "wc-8", 2199)  # with the seeded one: 2,200, past the old cap of 2,000
    http = flask_app.extensions["second_opinion"].http.for_url(sandbox.fhir_base)
    page, calls = fhir_calls_during_launch(sandbox, http, "wc-8")
    assert page.status_code == 200
    reasons = form_fields(page.text).checkboxes["reason"]
    assert len(reasons) == len(set(reasons)) == 2200
    assert "conditions-partial" not in page.text
    assert calls == ["POST", "GET", "GET"]  # the sandbox caps a page at 1,000
