"""The physician's side, pure: who they are, which Tasks are theirs, the opinion's rules, the letter."""

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.documentreference import DocumentReference

from fhir_mappings.domain import Conclusion
from fhir_mappings.incoming import (
    answering_physician_from_resources,
    incoming_from_task,
    is_referral_task,
    owned_by,
)
from fhir_mappings.opinion import conclusion_lines
from fhir_mappings.opinion_rules import OpinionDraft, OpinionIncomplete, opinion_from_draft
from fhir_mappings.review_records import file_content, file_name, record_references, review_records
from fhir_mappings.signed_opinion import letter_document, signing_provenance
from fhir_mappings.task import task_from_referral
from tests.unit.test_service_request import NS, REFERRAL

TODAY = date(2026, 12, 6)
ROLE = {
    "resourceType": "PractitionerRole",
    "id": "so-1",
    "practitioner": {"reference": "Practitioner/p1"},
    "organization": {"reference": "Organization/summit"},
}
OTHER_ROLE = {
    "resourceType": "PractitionerRole",
    "id": "so-5",
    "practitioner": {"reference": "Practitioner/p5"},
    "organization": {"reference": "Organization/summit"},
}
PRACTITIONER = {
    "resourceType": "Practitioner",
    "id": "p1",
    "name": [{"given": ["Riley"], "family": "Chen", "suffix": ["MD"], "prefix": ["Dr."]}],
}
SUMMIT = {"resourceType": "Organization", "id": "summit", "name": "Summit Occupational Medicine"}


def _physician() -> Any:
    return answering_physician_from_resources("Practitioner/p1", [PRACTITIONER, ROLE, OTHER_ROLE, SUMMIT])


def _task(owner: str = "PractitionerRole/so-1", **changes: Any) -> dict[str, Any]:
    task = task_from_referral(REFERRAL, NS, focus="ServiceRequest/sr1", patient="Patient/pt1",
                              authored_on="2026-12-01T09:30:00-07:00")  # fmt: skip
    return {**task, "id": "t1", "owner": {"reference": owner}, **changes}


def test_the_physician_is_known_by_their_practitioner_their_roles_and_their_organizations() -> None:
    physician = _physician()
    assert physician.name == "Dr. Riley Chen, MD"
    assert physician.owners == {"Practitioner/p1", "PractitionerRole/so-1", "Organization/summit"}
    assert physician.organization == ("Organization/summit", "Summit Occupational Medicine")


@pytest.mark.parametrize(
    ("owner", "theirs"),
    [
        ("PractitionerRole/so-1", True),
        ("Practitioner/p1", True),
        ("Organization/summit", True),
        ("PractitionerRole/so-5", False),
        ("http://clinic/fhir/PractitionerRole/so-1", True),
        ("Organization/mesa", False),
    ],
)
def test_a_task_is_theirs_only_by_its_owner(owner: str, theirs: bool) -> None:
    assert owned_by(_task(owner), _physician()) is theirs


def test_only_our_referral_tasks_count() -> None:
    assert is_referral_task(_task(), NS)
    assert not is_referral_task({**_task(), "identifier": []}, NS)


def test_the_worklist_row_reads_patient_claim_dates_and_overdue() -> None:
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": "sr1",
        "insurance": [{"reference": "Coverage/c1"}],
        "orderDetail": [
            {"text": "Opinion only"},
            {"coding": [{"system": f"{NS}/CodeSystem/referral-modality", "code": "telehealth"}]},
        ],
        "reasonReference": [{"reference": "Condition/k1"}],
        "note": [{"text": "Opinion only, please."}],
    }
    resources: dict[str, dict[str, Any]] = {
        "ServiceRequest/sr1": request,
        "Patient/pt1": {
            "resourceType": "Patient",
            "id": "pt1",
            "name": [{"given": ["Rosa"], "family": "Quintana"}],
            "birthDate": "1984-03-12",
        },
        "Coverage/c1": {
            "resourceType": "Coverage",
            "id": "c1",
            "subscriberId": "WC-2026-1",
            "payor": [{"display": "Columbine Mutual"}],
        },
        "Condition/k1": {"resourceType": "Condition", "id": "k1", "code": {"text": "Lumbar strain"}},
    }
    overdue = _task(restriction={"period": {"end": "2026-12-01"}})
    row = incoming_from_task(overdue, resources, NS, TODAY)
    assert (row.patient, row.birth_date, row.claim, row.insurer) == (
        "Rosa Quintana",
        "1984-03-12",
        "WC-2026-1",
        "Columbine Mutual",
    )
    assert (row.modality, row.needs_visit_time, row.reasons, row.scope) == (
        "telehealth",
        True,
        ("Lumbar strain",),
        "Opinion only, please.",
    )
    assert row.overdue and row.status_words == "New" and row.questions == REFERRAL.questions
    assert not incoming_from_task(
        _task(restriction={"period": {"end": "2026-12-07"}}), resources, NS, TODAY
    ).overdue
    assert not incoming_from_task({**overdue, "status": "completed"}, resources, NS, TODAY).overdue


FULL = {
    "mmi": "reached",
    "mmi_date": "2026-11-30",
    "work_relatedness": "work-related",
    "work_restrictions": "None",
    "treatment": "Home exercise program.",
    "summary": "At MMI.",
}


def test_a_complete_opinion_becomes_answers_and_a_conclusion() -> None:
    answers, conclusion = opinion_from_draft(OpinionDraft([" Yes. ", "No."], FULL), ["Q1", "Q2"], TODAY)
    assert answers == ("Yes.", "No.")
    assert conclusion == Conclusion(
        mmi="reached",
        summary="At MMI.",
        mmi_date="2026-11-30",
        work_relatedness="work-related",
        work_restrictions="None",
        treatment="Home exercise program.",
    )


def test_every_missing_part_is_named_at_once() -> None:
    with pytest.raises(OpinionIncomplete) as refused:
        opinion_from_draft(OpinionDraft(["", "x"], {"mmi": "not-reached"}), ["Q1", "Q2"], TODAY)
    assert set(refused.value.errors) == {
        "answer-1",
        "mmi_expected",
        "work_relatedness",
        "work_restrictions",
        "treatment",
        "summary",
    }


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({**FULL, "mmi_date": "2027-01-01"}, "mmi_date", "future"),
        ({**FULL, "mmi_date": "30/11/2026"}, "mmi_date", "year-month-day"),
        ({**FULL, "mmi": "maybe"}, "mmi", "MMI"),
        ({**FULL, "summary": "a\x00b"}, "summary", "character"),
        ({**FULL, "treatment": "x" * 5001}, "treatment", "too long"),
    ],
)
def test_each_bad_field_is_refused_in_plain_words(values: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(OpinionIncomplete) as refused:
        opinion_from_draft(OpinionDraft(["Yes."], values), ["Q1"], TODAY)
    assert words in refused.value.errors[field]


def test_the_conclusion_reads_mmi_first() -> None:
    conclusion = Conclusion(
        mmi="not-reached", summary="S", mmi_expected="8 weeks", work_relatedness="undetermined"
    )
    rows = conclusion_lines(conclusion)
    assert rows[0] == ("Maximum medical improvement", "Not yet at MMI; expected: 8 weeks")
    assert rows[1] == ("Work-relatedness", "Work-relatedness cannot be determined")


def test_the_letter_document_and_the_signature_are_valid_r4() -> None:
    author = {"reference": "Practitioner/p1", "display": "Dr. Riley Chen, MD"}
    document = letter_document(
        referral_id="r" * 32,
        task=_task(),
        author=author,
        pdf_base64="JVBERi0=",
        signed_at="2026-12-06T19:05:00Z",
        ns=NS,
    )
    DocumentReference.model_validate(document)
    assert document["type"]["coding"][0]["code"] == "11488-4"
    assert document["identifier"] == [{"system": f"{NS}/sid/opinion", "value": "r" * 32}]
    assert document["context"]["related"] == [{"reference": "ServiceRequest/sr1"}]
    provenance = signing_provenance(
        targets=["Task/t1", "DocumentReference/d1"],
        author=author,
        organization=("Organization/summit", "Summit"),
        signed_at="2026-12-06T19:05:00Z",
        ns=NS,
    )
    assert provenance["signature"][0]["type"][0]["code"] == "1.2.840.10065.1.12.1.1"
    assert [a["onBehalfOf"]["reference"] for a in provenance["agent"]] == ["Organization/summit"] * 2


def test_the_records_come_from_the_request_then_the_task_and_files_decode_safely() -> None:
    request = {"supportingInfo": [{"reference": "DocumentReference/d1"}, {"reference": "Observation/o1"}]}
    task = {
        "input": [
            {
                "type": {"coding": [{"system": f"{NS}/CodeSystem/task-io", "code": "record"}]},
                "valueReference": {"reference": "DiagnosticReport/r2"},
            }
        ]
    }
    assert record_references(request, task, NS) == ["DocumentReference/d1", "DiagnosticReport/r2"]
    note = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "description": "Visit note",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": "SGVsbG8=",
                    "title": "../../etc/passwd",
                }
            }
        ],
    }
    [row] = review_records(
        ["DocumentReference/d1", "DiagnosticReport/missing"], {"DocumentReference/d1": note}, set()
    )
    assert (row.title, row.files[0].media_type, row.files[0].shown) == ("Visit note", "text/plain", True)
    attachment = note["content"][0]["attachment"]  # type: ignore[index]
    assert file_content(attachment) == b"Hello"
    assert file_name(attachment, 1, 1) == "etc-passwd.txt"
    assert file_content({"data": "not base64!"}) is None
