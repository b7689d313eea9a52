"""The transaction Bundle for the receiving clinic: conditional creates on our identifiers."""

from typing import Any

from fhir_mappings.transaction import task_id_from_transaction_response, transaction_from_referral
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
