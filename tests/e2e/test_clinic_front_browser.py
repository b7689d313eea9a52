"""The sandbox clinic's front page in Debian's chromium: a physician's click reaches the app's
callback with a code, through the clinic's own authorization server and its page policy."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from tests.clinic_ehr import clinic_root
from tests.clinic_referral import deliver
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]


def test_a_physicians_launch_reaches_the_apps_callback(page: Page, sandbox: Sandbox, app_url: str) -> None:
    delivered = deliver(sandbox, ["Is the patient at MMI?"], owner="so-2")
    page.goto(f"{clinic_root(sandbox)}/")
    section = page.get_by_role("region", name="Dr. Casey Okafor, DO")
    button = section.get_by_role("button", name=f"Open referral {delivered.task_id} in Second Opinion")
    with (
        page.expect_request(lambda r: r.url.startswith(f"{app_url}/launch?")) as launch,
        page.expect_request(lambda r: r.url.startswith(f"{app_url}/callback?")) as callback,
    ):
        button.click()
    assert parse_qs(urlsplit(launch.value.url).query)["iss"] == [sandbox.clinic_fhir_base]
    assert parse_qs(urlsplit(callback.value.url).query)["code"][0]  # the clinic's server let it through
