"""The transaction Bundle for the receiving clinic: conditional creates on our identifiers."""

import copy
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest

from fhir_mappings.domain import RecordSummary
from fhir_mappings.errors import MappingError
from fhir_mappings.service_request import service_request_from_referral
from fhir_mappings.transaction import (
    record_version_identifier,
    task_id_from_transaction_response,
    transaction_from_referral,
)
from tests.unit.test_service_request import NS, REFERRAL

ISS = "https://ehr.example.org/fhir"


def _urn(name: str) -> str:
    return f"urn:uuid:{name}"


def _bundle() -> dict[str, Any]:
    return transaction_from_referral(REFERRAL, NS, ISS, _urn)


def test_entries_in_order_all_conditional_creates() -> None:
    bundle = _bundle()
    assert bundle["type"] == "transaction"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Patient", "Condition", "Coverage", "ServiceRequest", "Task"]
    assert all(e["request"]["method"] == "POST" and e["request"]["ifNoneExist"] for e in bundle["entry"])
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])


def test_copies_are_keyed_on_their_url_at_the_ehr() -> None:
    patient, condition = _bundle()["entry"][0], _bundle()["entry"][1]
    ehr = f"{NS}/sid/ehr-resource"
    assert patient["resource"]["identifier"] == [{"system": ehr, "value": f"{ISS}/Patient/p1"}]
    assert condition["resource"]["identifier"][0]["value"] == f"{ISS}/Condition/c1"
    assert patient["request"]["ifNoneExist"] == (
        "identifier=https%3A%2F%2Fso.example.org%2Ffhir%2Fsid%2Fehr-resource|"
        "https%3A%2F%2Fehr.example.org%2Ffhir%2FPatient%2Fp1"
    )


def test_patient_is_minimum_necessary() -> None:
    assert set(_bundle()["entry"][0]["resource"]) == {"resourceType", "identifier", "name"}


def test_references_point_inside_the_bundle() -> None:
    entries = _bundle()["entry"]
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in entries}
    request, task = entries[3]["resource"], entries[4]["resource"]
    assert request["subject"]["reference"] == urls["Patient"]
    assert request["reasonReference"][0]["reference"] == urls["Condition"]
    assert request["insurance"] == [{"reference": urls["Coverage"]}]
    assert task["focus"] == {"reference": urls["ServiceRequest"]}
    assert task["for"] == {"reference": urls["Patient"]}
    assert entries[3]["request"]["ifNoneExist"] == entries[4]["request"]["ifNoneExist"]
    assert "ref-123" in entries[4]["request"]["ifNoneExist"]


def test_the_same_referral_gives_the_same_bundle() -> None:
    assert _bundle() == _bundle()


def test_coverage_is_workers_comp() -> None:
    coverage = _bundle()["entry"][2]["resource"]
    codes = {(c["system"], c["code"]) for c in coverage["type"]["coding"]}
    v3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert codes == {("https://nahdo.org/sopt", "95"), (v3, "WCBPOL")}


def test_task_id_from_transaction_response() -> None:
    response = {
        "entry": [
            {"response": {"location": "Patient/p/_history/1"}},
            {"response": {"location": "http://c/fhir/Task/abc/_history/2"}},
        ]
    }
    assert task_id_from_transaction_response(response) == "abc"
    assert task_id_from_transaction_response({"entry": []}) is None


NOTE = RecordSummary("DocumentReference/d1", "DocumentReference", "Office visit note", "2026-02-10")
MRI = RecordSummary("DiagnosticReport/r1", "DiagnosticReport", "MRI of the lower back", "2025-11-03")
REVIEW = replace(REFERRAL, modality="record-review", records=(NOTE, MRI))
SHARED = [
    {"resourceType": "DocumentReference", "id": "d1", "meta": {"versionId": "2"}, "status": "current",
     "subject": {"reference": "Patient/p1"}, "date": "2026-02-10T10:00:00-07:00",
     "author": [{"reference": "Practitioner/atp", "display": "Dr. Sam Atp, DO"}],
     "description": "Office visit note",
     "content": [{"attachment": {"contentType": "text/plain", "data": "Tm90ZQ=="}}],
     "context": {"encounter": [{"reference": "Encounter/e1"}]}},
    {"resourceType": "DiagnosticReport", "id": "r1", "status": "final",
     "code": {"text": "MRI of the lower back"},
     "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
     "effectiveDateTime": "2025-11-03", "conclusion": "No fracture.",
     "presentedForm": [{"contentType": "application/pdf", "data": "JVBERi0=", "title": "MRI report"}]},
]


def _version_key(value: str) -> str:
    return f"identifier={quote(f'{NS}/sid/ehr-resource-version', safe='')}|{quote(value, safe='')}"


REPORT_VERSION = record_version_identifier(NS, ISS, "DiagnosticReport/r1", SHARED[1])["value"]


def test_a_record_review_carries_the_records_themselves() -> None:
    entries = transaction_from_referral(REVIEW, NS, ISS, _urn, SHARED)["entry"]
    kinds = [e["resource"]["resourceType"] for e in entries]
    assert kinds == ["Patient", "Condition", "Coverage", "DocumentReference", "DiagnosticReport",
                     "ServiceRequest", "Task"]
    ehr, version = f"{NS}/sid/ehr-resource", f"{NS}/sid/ehr-resource-version"
    assert REPORT_VERSION.startswith(f"{ISS}/DiagnosticReport/r1#sha256=")
    assert entries[3] == {
        "fullUrl": "urn:uuid:DocumentReference/d1",
        "resource": {
            "resourceType": "DocumentReference",
            "identifier": [{"system": ehr, "value": f"{ISS}/DocumentReference/d1"},
                           {"system": version, "value": f"{ISS}/DocumentReference/d1/_history/2"}],
            "status": "current",
            "date": "2026-02-10T10:00:00-07:00",
            "author": [{"display": "Dr. Sam Atp, DO"}],
            "description": "Office visit note",
            "content": [{"attachment": {"contentType": "text/plain", "data": "Tm90ZQ=="}}],
            "subject": {"reference": "urn:uuid:Patient/p1"},
        },
        "request": {"method": "POST", "url": "DocumentReference",
                    "ifNoneExist": _version_key(f"{ISS}/DocumentReference/d1/_history/2")},
    }
    assert entries[4] == {
        "fullUrl": "urn:uuid:DiagnosticReport/r1",
        "resource": {
            "resourceType": "DiagnosticReport",
            "identifier": [{"system": ehr, "value": f"{ISS}/DiagnosticReport/r1"},
                           {"system": version, "value": REPORT_VERSION}],
            "status": "final",
            "code": {"text": "MRI of the lower back"},
            "effectiveDateTime": "2025-11-03",
            "conclusion": "No fracture.",
            "presentedForm": [{"contentType": "application/pdf", "data": "JVBERi0=", "title": "MRI report"}],
            "subject": {"reference": "urn:uuid:Patient/p1"},
        },
        "request": {"method": "POST", "url": "DiagnosticReport",
                    "ifNoneExist": _version_key(REPORT_VERSION)},
    }
    assert entries[5]["resource"]["supportingInfo"] == [
        {"reference": "urn:uuid:DocumentReference/d1", "display": "Office visit note"},
        {"reference": "urn:uuid:DiagnosticReport/r1", "display": "MRI of the lower back"},
    ]
    assert transaction_from_referral(REVIEW, NS, ISS, _urn, SHARED) == {
        "resourceType": "Bundle", "type": "transaction", "entry": entries}  # the same, every time


def test_an_amended_record_has_another_key_and_the_same_one_the_same() -> None:
    """A record amended after its first delivery travels again: the key names the version copied."""
    note, report = SHARED
    key = record_version_identifier(NS, ISS, "DocumentReference/d1", note)
    assert key == record_version_identifier(NS, ISS, "DocumentReference/d1", {**note, "id": "other"})
    amended = {**note, "meta": {"versionId": "3"}}
    assert record_version_identifier(NS, ISS, "DocumentReference/d1", amended) != key
    same = record_version_identifier(NS, ISS, "DiagnosticReport/r1", {**report, "meta": {"lastUpdated": "x"}})
    assert same["value"] == REPORT_VERSION  # no versionId: the content decides
    changed = record_version_identifier(NS, ISS, "DiagnosticReport/r1", {**report, "conclusion": "Fracture."})
    assert changed["value"] != REPORT_VERSION


def test_without_records_the_service_request_names_none_of_the_ehr() -> None:
    entries = _bundle()["entry"]
    [request] = [e["resource"] for e in entries if e["resource"]["resourceType"] == "ServiceRequest"]
    assert "supportingInfo" not in request


@pytest.mark.parametrize("shared", [[], SHARED[:1], SHARED[::-1]])
def test_the_records_resources_must_be_the_records_chosen(shared: list[dict[str, Any]]) -> None:
    with pytest.raises(MappingError):
        transaction_from_referral(REVIEW, NS, ISS, _urn, shared)


def test_the_service_request_written_to_the_ehr_is_reused_unchanged() -> None:
    built = service_request_from_referral(REVIEW, NS)
    kept = copy.deepcopy(built)
    reused = transaction_from_referral(REVIEW, NS, ISS, _urn, SHARED, built)
    assert reused == transaction_from_referral(REVIEW, NS, ISS, _urn, SHARED)
    assert built == kept  # the EHR's resource is copied, never changed


def test_another_referrals_service_request_is_refused() -> None:
    other = service_request_from_referral(replace(REFERRAL, id="someone-else"), NS)
    with pytest.raises(MappingError, match="not this referral"):
        transaction_from_referral(REFERRAL, NS, ISS, _urn, (), other)
