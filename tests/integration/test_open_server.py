"""Open-server mode against the sandbox's open endpoint (``/open/fhir``, no authorization), over HTTP.

The open endpoint refuses any request that carries an Authorization header, so
a chart that loads proves the app sent none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from smart_app import create_app
from smart_app.config import Settings
from tests.pages import form_fields, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")


def _app(tmp_path: Path, app_settings: Settings, sandbox: Sandbox, writes: bool) -> FlaskClient:
    folder = tmp_path / "registrations"
    folder.mkdir()
    (folder / "open.toml").write_text(
        f'name = "Open test server"\niss = "{sandbox.ehr_url}open/fhir"\nopen_server = true\n'
        f"open_server_writes = {'true' if writes else 'false'}\n"
    )
    settings = app_settings.model_copy(update={"registrations": folder,
                                               "database_url": f"sqlite:///{tmp_path / 'app.sqlite3'}"})
    return create_app(settings).test_client()


@pytest.fixture
def read_only(tmp_path: Path, app_settings: Settings, sandbox: Sandbox) -> Iterator[FlaskClient]:
    yield _app(tmp_path, app_settings, sandbox, writes=False)


@pytest.fixture
def writable(tmp_path: Path, app_settings: Settings, sandbox: Sandbox) -> Iterator[FlaskClient]:
    yield _app(tmp_path, app_settings, sandbox, writes=True)


def _open(client: FlaskClient, patient: str, requester: str = "") -> tuple[str, str]:
    started = client.post("/open/open", data={"patient": patient, "requester": requester})
    assert started.status_code == 303, started.text
    page = client.get(started.headers["Location"])
    assert page.status_code == 200, page.text
    return started.headers["Location"], page.text


def test_the_home_page_offers_the_patient_id_form(read_only: FlaskClient) -> None:
    assert "/open/open" in read_only.get("/").text
    assert 'name="patient"' in read_only.get("/open/open").text


@pytest.mark.parametrize("patient", ["wc-1\n", "../Patient/wc-1", "", "x" * 65, "wc 1"])
def test_a_patient_id_must_be_a_whole_fhir_id(read_only: FlaskClient, patient: str) -> None:
    answer = read_only.post("/open/open", data={"patient": patient})
    assert answer.status_code == 422
    assert "Enter the patient&#39;s id on this server" in answer.text


def test_a_requester_must_be_a_practitioner_reference(read_only: FlaskClient) -> None:
    answer = read_only.post("/open/open", data={"patient": "wc-1", "requester": "Patient/wc-1"})
    assert answer.status_code == 422 and "Practitioner/&lt;id&gt;" in answer.text


def test_without_a_requester_the_chart_shows_with_a_plain_notice(read_only: FlaskClient) -> None:
    _, page = _open(read_only, "wc-1")
    assert "Dana Whitfield" in page and "No requester was given" in page
    assert 'disabled aria-describedby="cannot-send"' in page


def test_a_read_only_open_server_is_never_written(read_only: FlaskClient, sandbox: Sandbox) -> None:
    url, page = _open(read_only, "wc-2", "Practitioner/atp-1")
    assert "permission to create referrals" in page
    refused = read_only.post(url.replace("/compose", "/referrals"), data=referral_form(page))
    assert refused.status_code == 403


def test_a_writable_open_server_takes_a_referral_with_a_requester(writable: FlaskClient,
                                                                   sandbox: Sandbox) -> None:
    url, page = _open(writable, "wc-3", "Practitioner/atp-1")
    assert "permission to create referrals" not in page
    assert form_fields(page).selects["physician"]
    sent = writable.post(url.replace("/compose", "/referrals"), data=referral_form(page))
    assert sent.status_code == 303
    assert "Referral sent" in writable.get(sent.headers["Location"]).text


def test_an_open_server_has_no_sign_in(read_only: FlaskClient, sandbox: Sandbox) -> None:
    answer = read_only.get("/launch", query_string={"iss": f"{sandbox.ehr_url}open/fhir", "launch": "x"})
    assert answer.status_code == 400 and "open and has no sign-in" in answer.text


def test_an_open_server_never_widens_frame_ancestors(read_only: FlaskClient, sandbox: Sandbox) -> None:
    policy = read_only.get("/").headers["Content-Security-Policy"]
    assert policy.split("frame-ancestors", 1)[1].split() == ["'self'"]


def test_a_post_from_another_site_opens_nothing(read_only: FlaskClient) -> None:
    answer = read_only.post("/open/open", data={"patient": "wc-1"}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 400 and "sent from another site" in answer.text
