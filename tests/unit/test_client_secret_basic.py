"""The Basic header of a confidential symmetric client: form-encoded (RFC 6749 §2.3.1) or raw."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from smart_app.config import ConfigError, load_registrations
from smart_app.smart.token import basic_authorization


def _decoded(header: str) -> str:
    return base64.b64decode(header.removeprefix("Basic ")).decode()


def test_form_urlencoded_encodes_the_reserved_characters_first() -> None:
    header = basic_authorization("my client", "s3cr:et+/=%é", "form-urlencoded")
    assert _decoded(header) == "my+client:s3cr%3Aet%2B%2F%3D%25%C3%A9"


def test_raw_sends_the_secret_as_it_is_in_utf8() -> None:
    header = basic_authorization("client", "s3cr:et+/=%é", "raw")
    assert base64.b64decode(header.removeprefix("Basic ")) == "client:s3cr:et+/=%é".encode()


def _folder(tmp_path: Path, lines: str) -> Path:
    (tmp_path / "ehr.toml").write_text(
        'name = "EHR"\niss = "https://ehr.example.org/fhir"\nscopes = "launch openid fhirUser"\n'
        f'client_secret_env = "EHR_SECRET"\n{lines}\n')
    return tmp_path


def test_the_registration_chooses_the_encoding(tmp_path: Path) -> None:
    basic = 'client_id = "c"\nclient_auth = "client_secret_basic"'
    [default] = load_registrations(_folder(tmp_path, basic)).values()
    assert default.client_secret_basic_encoding == "form-urlencoded"
    [raw] = load_registrations(_folder(tmp_path, 'client_id = "c"\nclient_auth = "client_secret_basic"\n'
                                                 'client_secret_basic_encoding = "raw"')).values()
    assert raw.client_secret_basic_encoding == "raw"


@pytest.mark.parametrize("lines, words", [
    ('client_id = "c"\nclient_auth = "client_secret_post"\nclient_secret_basic_encoding = "raw"',
     "needs client_auth = client_secret_basic"),
    ('client_id = "a:b"\nclient_auth = "client_secret_basic"\nclient_secret_basic_encoding = "raw"',
     "cannot be sent raw"),
    ('client_id = "c"\nclient_auth = "client_secret_basic"\nclient_secret_basic_encoding = "percent"',
     "client_secret_basic_encoding"),
])
def test_an_encoding_that_cannot_work_stops_start_up(tmp_path: Path, lines: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_registrations(_folder(tmp_path, lines))
