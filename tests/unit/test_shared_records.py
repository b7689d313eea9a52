"""Records shared for a record review, pure part: the send-time check, the url guard, the
attachments inlined, and the copy the clinic receives (exact JSON)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.attachment import (
    attachments_from_record,
    inlined_attachment,
    record_with_attachments,
    url_on_server,
)
from fhir_mappings.domain import RecordSummary
from fhir_mappings.errors import MappingError, ReferralRuleError
from fhir_mappings.record import checked_record_from_resource
from fhir_mappings.shared_record import shared_record_from_resource

NS = "https://so.example.org/fhir"
ISS = "https://ehr.example.org/fhir"
DOC_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
CLINICAL_NOTE = {"system": DOC_CATEGORY, "code": "clinical-note", "display": "Clinical Note"}
PATIENT_URL = "urn:uuid:7f0c9a56-0a39-5b6c-9d7e-2f3a4b5c6d7e"
META = {"versionId": "3", "lastUpdated": "2026-02-10T17:00:00Z"}
NOTE = RecordSummary("DocumentReference/d1", "DocumentReference", "Office visit note")
MRI = RecordSummary("DiagnosticReport/r1", "DiagnosticReport", "MRI of the lower back")

DOCUMENT: dict[str, Any] = {
    "resourceType": "DocumentReference",
    "id": "d1",
    "meta": META,
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Note</div>'},
    "contained": [{"resourceType": "Organization", "id": "o", "name": "Front Range"}],
    "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.0", "value": "DOC-77",
                    "assigner": {"reference": "Organization/o1",
                                 "display": "Front Range Occupational Health"}}],
    "status": "current",
    "docStatus": "final",
    "type": {"text": "Office visit note"},
    "category": [{"coding": [CLINICAL_NOTE]}],
    "subject": {"reference": "Patient/p1"},
    "date": "2026-02-10T10:00:00-07:00",
    "author": [{"reference": "Practitioner/atp", "display": "Dr. Sam Atp, DO"}, {"reference": "#o"}],
    "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/d0"}}],
    "description": "Office visit note",
    "content": [{"attachment": {"contentType": "text/plain", "title": "Visit note", "data": "Tm90ZQ=="}}],
    "context": {
        "encounter": [{"reference": "Encounter/e1"}],
        "related": [{"reference": "ServiceRequest/s0", "display": "Earlier order"}],
        "period": {"start": "2026-02-10"},
        "sourcePatientInfo": {"reference": "Patient/p1"},
    },
}
REPORT: dict[str, Any] = {
    "resourceType": "DiagnosticReport",
    "id": "r1",
    "meta": META,
    "basedOn": [{"reference": "ServiceRequest/s0"}],
    "status": "final",
    "code": {"text": "MRI of the lower back"},
    "subject": {"reference": "https://ehr.example.org/fhir/Patient/p1"},
    "encounter": {"reference": "Encounter/e1"},
    "effectiveDateTime": "2025-11-03T14:00:00-07:00",
    "issued": "2025-11-03T16:00:00-07:00",
    "performer": [{"reference": "Organization/rad", "display": "Aurora Imaging"}],
    "result": [{"reference": "Observation/o1", "display": "Disc height"}, {"reference": "Observation/o2"}],
    "media": [{"link": {"reference": "Media/m1"}}],
    "conclusion": "No fracture.",
    "presentedForm": [{"contentType": "application/pdf", "url": "Binary/b1", "title": "MRI report"}],
}
INLINED_REPORT = {**REPORT, "presentedForm": [
    {"contentType": "application/pdf", "title": "MRI report", "data": "JVBERi0="}]}


def _identifier(reference: str) -> dict[str, str]:
    return {"system": f"{NS}/sid/ehr-resource", "value": f"{ISS}/{reference}"}


def test_a_record_still_in_the_chart_is_shared_as_read() -> None:
    assert checked_record_from_resource(DOCUMENT, NOTE, "Patient/p1") == DOCUMENT
    assert checked_record_from_resource(REPORT, MRI, "Patient/p1") == REPORT  # absolute subject


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"subject": {"reference": "Patient/p2"}},
         "“Office visit note” is not in this patient's chart any more"),
        ({"subject": None}, "is not in this patient's chart any more"),
        ({"status": "entered-in-error"}, "was marked entered in error in the EHR"),
        ({"status": "superseded"}, "was marked superseded in the EHR"),
        ({"docStatus": "entered-in-error"}, "was marked entered in error"),
        ({"id": "d2"}, "The EHR answered with something other than “Office visit note”"),
        ({"resourceType": "DiagnosticReport"}, "something other than"),
        ({"id": None}, "something other than"),
    ],
)
def test_a_record_that_changed_since_the_form_was_opened_is_refused(
    changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(ReferralRuleError) as refused:
        checked_record_from_resource({**DOCUMENT, **changes}, NOTE, "Patient/p1")
    assert words in str(refused.value)
    assert "nothing was sent" in str(refused.value)


def test_a_cancelled_report_is_refused() -> None:
    with pytest.raises(ReferralRuleError, match="was marked cancelled"):
        checked_record_from_resource({**REPORT, "status": "cancelled"}, MRI, "Patient/p1")


BASE = "http://127.0.0.1:8001/fhir"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("Binary/b1", f"{BASE}/Binary/b1"),
        ("Binary/b1?_format=json", f"{BASE}/Binary/b1?_format=json"),
        (f"{BASE}/Binary/b1", f"{BASE}/Binary/b1"),
        ("HTTP://127.0.0.1:8001/fhir/Binary/b1#page=2", f"{BASE}/Binary/b1"),
        (f"{BASE}/documents/scan.pdf", f"{BASE}/documents/scan.pdf"),
        ("http://127.0.0.1:8002/fhir/Binary/b1", None),  # another port
        ("https://127.0.0.1:8001/fhir/Binary/b1", None),  # another scheme
        ("http://localhost:8001/fhir/Binary/b1", None),  # another host name
        ("http://169.254.169.254/latest/meta-data/", None),
        ("//evil.example/fhir/Binary/b1", None),
        ("http://127.0.0.1:8001@evil.example/fhir/Binary/b1", None),
        ("http://user@127.0.0.1:8001/fhir/Binary/b1", None),
        ("http://127.0.0.1:8001/fhirx/Binary/b1", None),  # beside the base, not under it
        ("http://127.0.0.1:8001/oauth/token", None),
        ("/oauth/token", None),
        ("../oauth/token", None),
        ("Binary/../../oauth/token", None),
        ("Binary/%2e%2e/%2E%2E/oauth/token", None),
        ("Binary%2F..%2F..%2Foauth", None),
        ("Binary\\..\\admin", None),
        ("Binary/b1\r\nHost: evil", None),
        ("http://127.0.0.1:8001/fhir", None),  # the base itself
        ("#contained", None),
        ("", None),
        ("file:///etc/passwd", None),
        ("http://127.0.0.1:99999999/fhir/Binary/b1", None),
    ],
)
def test_only_urls_under_the_ehr_base_may_be_fetched(url: str, expected: str | None) -> None:
    assert url_on_server(BASE, url) == expected
    assert url_on_server(f"{BASE}/", url) == expected


def test_attachments_are_read_and_replaced_in_order() -> None:
    assert attachments_from_record(REPORT) == REPORT["presentedForm"]
    assert attachments_from_record(DOCUMENT) == [DOCUMENT["content"][0]["attachment"]]
    assert attachments_from_record({"resourceType": "Observation"}) == []
    inlined = inlined_attachment(REPORT["presentedForm"][0], "text/plain", "JVBERi0=")
    assert inlined == {"contentType": "application/pdf", "title": "MRI report", "data": "JVBERi0="}
    assert record_with_attachments(REPORT, [inlined]) == INLINED_REPORT
    assert inlined_attachment({"title": "Scan"}, "image/png", "iVBO") == {
        "title": "Scan", "contentType": "image/png", "data": "iVBO"}
    assert inlined_attachment({}, None, "AA==")["contentType"] == "application/octet-stream"
    with pytest.raises(MappingError):
        record_with_attachments(REPORT, [])


def test_the_document_copy_stands_on_its_own() -> None:
    copy = shared_record_from_resource(DOCUMENT, _identifier("DocumentReference/d1"), PATIENT_URL)
    assert copy == {
        "resourceType": "DocumentReference",
        "identifier": [
            _identifier("DocumentReference/d1"),
            {"system": "urn:oid:2.16.840.1.113883.3.0", "value": "DOC-77",
             "assigner": {"display": "Front Range Occupational Health"}},
        ],
        "status": "current",
        "docStatus": "final",
        "type": {"text": "Office visit note"},
        "category": [{"coding": [CLINICAL_NOTE]}],
        "date": "2026-02-10T10:00:00-07:00",
        "author": [{"display": "Dr. Sam Atp, DO"}],
        "description": "Office visit note",
        "content": [{"attachment": {"contentType": "text/plain", "title": "Visit note", "data": "Tm90ZQ=="}}],
        "context": {"period": {"start": "2026-02-10"}, "sourcePatientInfo": {"reference": PATIENT_URL}},
        "subject": {"reference": PATIENT_URL},
    }


def test_the_report_copy_keeps_names_not_references() -> None:
    copy = shared_record_from_resource(INLINED_REPORT, _identifier("DiagnosticReport/r1"), PATIENT_URL)
    assert copy == {
        "resourceType": "DiagnosticReport",
        "identifier": [_identifier("DiagnosticReport/r1")],
        "status": "final",
        "code": {"text": "MRI of the lower back"},
        "effectiveDateTime": "2025-11-03T14:00:00-07:00",
        "issued": "2025-11-03T16:00:00-07:00",
        "performer": [{"display": "Aurora Imaging"}],
        "result": [{"display": "Disc height"}],
        "conclusion": "No fracture.",
        "presentedForm": [{"contentType": "application/pdf", "title": "MRI report", "data": "JVBERi0="}],
        "subject": {"reference": PATIENT_URL},
    }


@pytest.mark.parametrize(
    "resource",
    [
        REPORT,  # its presented form is still only a url: it must be inlined first
        {**DOCUMENT, "date": "last Tuesday"},  # not an instant
        {**DOCUMENT, "content": []},  # R4 requires content
        {"resourceType": "Observation", "id": "o1", "status": "final"},
    ],
)
def test_a_copy_that_would_not_be_valid_r4_is_refused(resource: dict[str, Any]) -> None:
    with pytest.raises(MappingError):
        shared_record_from_resource(resource, _identifier("X/1"), PATIENT_URL)
