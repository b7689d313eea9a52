"""Reading the shared records at send time against a fake EHR on 127.0.0.1: one batch, files
given by url inlined, the 10 MiB cap naming the record, and no request ever leaving the EHR."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests

from fhir_mappings.domain import RecordSummary
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.records import MAX_SHARED_BYTES, shared_records
from smart_app.errors import ReferralInvalid
from tests.unit.test_service_request import NS, REFERRAL

NOTE = RecordSummary("DocumentReference/d1", "DocumentReference", "Office visit note")
MRI = RecordSummary("DiagnosticReport/r1", "DiagnosticReport", "MRI of the lower back")
PDF = b"%PDF-1.4 synthetic report"
PNG = b"\x89PNG\r\n\x1a\n synthetic scan"


@dataclass
class Server:
    """A fake FHIR server: resources for batch reads, files by path; it records every request."""

    url: str = ""
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    refuse_batch: bool = False
    seen: list[str] = field(default_factory=list)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            server.seen.append(f"POST {self.path}")
            bundle = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if server.refuse_batch:
                self._answer(
                    403, {"Content-Type": "application/fhir+json"}, b'{"resourceType":"OperationOutcome"}'
                )
                return
            entries = []
            for entry in bundle["entry"]:
                found = server.resources.get(entry["request"]["url"])
                entries.append(
                    {"response": {"status": "200 OK"}, "resource": found}
                    if found
                    else {"response": {"status": "404 Not Found"}}
                )
            body = {"resourceType": "Bundle", "type": "batch-response", "entry": entries}
            self._answer(200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode())

        def do_GET(self) -> None:
            server.seen.append(f"GET {self.path}")
            relative = self.path.removeprefix("/fhir/")
            if relative in server.resources:
                body = json.dumps(server.resources[relative]).encode()
                self._answer(200, {"Content-Type": "application/fhir+json"}, body)
            elif self.path in server.files:
                self._answer(*server.files[self.path])
            else:
                self._answer(
                    404, {"Content-Type": "application/fhir+json"}, b'{"resourceType":"OperationOutcome"}'
                )

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: the cap at work

    return Handler


def _serve(server: Server) -> Iterator[Server]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def ehr() -> Iterator[Server]:
    yield from _serve(Server())


@pytest.fixture
def elsewhere() -> Iterator[Server]:
    """Another server on the same machine, which the ATP's token must never reach."""
    yield from _serve(Server())


def _note(attachment: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [{"attachment": attachment}],
    }


def _report(attachment: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": {"text": "MRI"},
        "subject": {"reference": "Patient/p1"},
        "presentedForm": [attachment],
    }


def _share(ehr: Server, *records: RecordSummary) -> tuple[dict[str, Any], ...]:
    referral = replace(REFERRAL, modality="record-review", records=records)
    client = FhirClient(requests.Session(), f"{ehr.url}/fhir", "atp-token", 5.0)
    return shared_records(client, referral, NS)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_files_given_by_url_are_read_from_the_ehr_and_inlined(ehr: Server) -> None:
    ehr.resources["DocumentReference/d1"] = _note({"url": f"{ehr.url}/fhir/files/scan.png", "title": "Scan"})
    ehr.resources["DiagnosticReport/r1"] = _report({"url": "Binary/b1", "title": "MRI report"})
    ehr.resources["Binary/b1"] = {
        "resourceType": "Binary",
        "id": "b1",
        "contentType": "application/pdf",
        "data": _b64(PDF),
    }
    ehr.files["/fhir/files/scan.png"] = (200, {"Content-Type": "image/png"}, PNG)
    note, report = _share(ehr, NOTE, MRI)
    assert note["content"] == [
        {"attachment": {"title": "Scan", "contentType": "image/png", "data": _b64(PNG)}}
    ]
    assert report["presentedForm"] == [
        {"title": "MRI report", "contentType": "application/pdf", "data": _b64(PDF)}
    ]
    assert ehr.seen == ["POST /fhir", "GET /fhir/files/scan.png", "GET /fhir/Binary/b1"]


def test_records_with_their_data_cost_one_batch(ehr: Server) -> None:
    ehr.resources["DocumentReference/d1"] = _note({"contentType": "text/plain", "data": _b64(b"Note")})
    assert _share(ehr, NOTE) == (ehr.resources["DocumentReference/d1"],)
    assert ehr.seen == ["POST /fhir"]


def test_the_cap_is_ten_mib_and_names_the_record_that_passes_it(ehr: Server) -> None:
    assert MAX_SHARED_BYTES == 10 * 1024 * 1024
    six_mib = b"x" * (6 * 1024 * 1024)
    ehr.resources["DocumentReference/d1"] = _note({"contentType": "text/plain", "data": _b64(six_mib)})
    ehr.resources["DiagnosticReport/r1"] = _report({"contentType": "application/pdf", "url": "Binary/big"})
    ehr.files["/fhir/Binary/big"] = (200, {"Content-Type": "application/pdf"}, b"%" * (5 * 1024 * 1024))
    with pytest.raises(ReferralInvalid) as refused:
        _share(ehr, NOTE, MRI)
    assert refused.value.message.startswith("“MRI of the lower back” is too large to send")
    assert "10 MiB at most" in refused.value.message


def test_one_file_over_the_cap_is_refused_before_it_is_read(ehr: Server) -> None:
    ehr.resources["DiagnosticReport/r1"] = _report({"url": "Binary/huge"})
    size = MAX_SHARED_BYTES * 2
    ehr.files["/fhir/Binary/huge"] = (
        200,
        {"Content-Type": "application/pdf", "Content-Length": str(size)},
        b"",
    )  # it only claims the size: nothing more is read
    with pytest.raises(ReferralInvalid, match="“MRI of the lower back” is too large"):
        _share(ehr, MRI)


def test_a_file_just_under_the_cap_is_sent(ehr: Server) -> None:
    data = b"\xff\xd8\xff" + b"y" * (MAX_SHARED_BYTES - 3)  # a JPEG's first bytes (file_type.py)
    ehr.resources["DiagnosticReport/r1"] = _report({"url": "Binary/b1"})
    ehr.resources["Binary/b1"] = {"resourceType": "Binary", "contentType": "image/jpeg", "data": _b64(data)}
    [report] = _share(ehr, MRI)
    assert report["presentedForm"] == [{"contentType": "image/jpeg", "data": _b64(data)}]


@pytest.mark.parametrize(
    "url",
    [
        "{elsewhere}/fhir/Binary/b1",
        "http://localhost:{elsewhere_port}/fhir/Binary/b1",
        "../../oauth/token",
        "Binary/%2e%2e/%2e%2e/oauth/token",
    ],
)
def test_a_file_outside_the_ehr_is_never_fetched(ehr: Server, elsewhere: Server, url: str) -> None:
    port = elsewhere.url.rsplit(":", 1)[1]
    ehr.resources["DiagnosticReport/r1"] = _report(
        {"url": url.format(elsewhere=elsewhere.url, elsewhere_port=port)}
    )
    with pytest.raises(ReferralInvalid, match="keeps its file at another address than the EHR"):
        _share(ehr, MRI)
    assert elsewhere.seen == []
    assert ehr.seen == ["POST /fhir"]


def test_a_redirect_away_from_the_ehr_is_not_followed(ehr: Server, elsewhere: Server) -> None:
    ehr.resources["DiagnosticReport/r1"] = _report({"url": "Binary/moved"})
    ehr.files["/fhir/Binary/moved"] = (302, {"Location": f"{elsewhere.url}/fhir/Binary/b1"}, b"")
    elsewhere.resources["Binary/b1"] = {"resourceType": "Binary", "contentType": "text/plain", "data": "eA=="}
    with pytest.raises(ReferralInvalid, match="keeps its file at another address than the EHR"):
        _share(ehr, MRI)
    assert elsewhere.seen == []


def test_a_record_of_another_patient_is_refused(ehr: Server) -> None:
    ehr.resources["DocumentReference/d1"] = {
        **_note({"data": "eA=="}),
        "subject": {"reference": "Patient/p2"},
    }
    with pytest.raises(ReferralInvalid, match="“Office visit note” is not in this patient's chart any more"):
        _share(ehr, NOTE)


def test_a_refused_batch_is_read_record_by_record_to_name_the_missing_one(ehr: Server) -> None:
    ehr.refuse_batch = True
    ehr.resources["DocumentReference/d1"] = _note({"contentType": "text/plain", "data": "eA=="})
    with pytest.raises(ReferralInvalid, match="“MRI of the lower back” is no longer in the EHR"):
        _share(ehr, NOTE, MRI)
    assert sorted(ehr.seen) == [
        "GET /fhir/DiagnosticReport/r1",
        "GET /fhir/DocumentReference/d1",
        "POST /fhir",
    ]
