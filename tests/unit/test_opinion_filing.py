"""The filed opinion's text (conclusion first), the letter the ATP's page opens, the filing's Provenance."""

import base64

from fhir_mappings.domain import Clinic, Requester
from fhir_mappings.opinion import Opinion, answers_text_from_opinion, opinion_attachment
from fhir_mappings.provenance import provenance_from_filing, provenance_from_status_change
from tests.unit.test_service_request import NS
from tests.unit.test_task_workflow import CONCLUSION

ATP = Requester("Practitioner/atp-1", "Dr. Casey Atwood, MD", Clinic("Organization/org-atp", "Front Range"))


def test_the_text_puts_the_conclusion_first_then_each_answer_under_its_question() -> None:
    opinion = Opinion("r1", "Patient/p1", "sr1", ("Q one?", "Q two?"), ("A one.", "A two."),
                      "2026-12-06T19:05:00Z", conclusion=CONCLUSION)  # fmt: skip
    text = answers_text_from_opinion(opinion)
    assert text.splitlines()[:3] == [
        "Maximum medical improvement: Not yet at MMI; expected: 8 to 12 weeks",
        "Work-relatedness: Work-related: Lifting at work, consistent with the history.",
        "Work restrictions: No lifting over 20 lb.",
    ]
    first_answer = text.index("Question 1: Q one?\nAnswer: A one.")
    assert text.index("Summary: Lumbar strain; not at MMI.") < first_answer


def test_only_a_real_pdf_or_plain_text_is_served() -> None:
    def letter(content_type: str, data: bytes) -> dict[str, str]:
        return {"contentType": content_type, "data": base64.b64encode(data).decode()}

    assert opinion_attachment(letter("application/pdf", b"%PDF-1.7 x")) == ("application/pdf", b"%PDF-1.7 x")
    assert opinion_attachment(letter("text/plain", b"hi")) == ("text/plain; charset=utf-8", b"hi")
    assert opinion_attachment(letter("application/pdf", b"<html><script>")) is None  # HTML labelled PDF
    assert opinion_attachment(letter("text/html", b"<html>")) is None
    assert opinion_attachment({"contentType": "application/pdf", "data": "not base64!"}) is None
    assert opinion_attachment(None) is None


def test_the_filings_provenance_names_the_physician_as_author_and_the_app_as_transmitter() -> None:
    physician = {"reference": "PractitionerRole/so-1", "display": "Dr. Riley Chen, MD"}
    summit = Clinic("Organization/org-summit", "Summit Occupational Medicine")
    filed = provenance_from_filing("urn:uuid:1", physician, summit, ATP, "2026-12-06T19:05:00Z", NS)
    assert [(a["type"]["coding"][0]["code"], a["onBehalfOf"]["reference"]) for a in filed["agent"]] == [
        ("author", "Organization/org-summit"), ("transmitter", "Organization/org-atp")]
    assert filed["agent"][1]["who"]["identifier"] == {"system": f"{NS}/sid/device", "value": "second-opinion"}
    changed = provenance_from_status_change("ServiceRequest/sr1", ATP, "2026-12-06T19:05:00Z", NS)
    assert changed["activity"]["coding"][0]["code"] == "UPDATE"
    assert changed["target"] == [{"reference": "ServiceRequest/sr1"}]
