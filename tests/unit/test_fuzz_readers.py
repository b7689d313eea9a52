"""Fuzzing: arbitrary JSON from an EHR and arbitrary compose input never crash the app.

An EHR answer is read into a Chart or refused as the EHR's error (a 502 page);
a form is either refused with field errors or becomes a ServiceRequest whose
narrative is well-formed XHTML (https://hl7.org/fhir/R4/narrative.html#xhtml).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from typing import Any

import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from fhir_mappings.bundle import BatchEntryResponse, responses_from_batch_response
from fhir_mappings.domain import (
    Clinic,
    ConditionSummary,
    PatientSummary,
    Physician,
    Requester,
)
from fhir_mappings.errors import MappingError
from fhir_mappings.service_request import service_request_from_referral
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import Chart, chart_from_entries, chart_urls
from smart_app.errors import EhrError, ReferralInvalid
from smart_app.referrals.form import ComposeForm, FormInvalid, referral_from_form

NS = "https://so.example.org/fhir"
ATP = "https://ehr.example.org/fhir/Practitioner/atp"
CLOSED = "http://127.0.0.1:9/fhir"  # the discard port: any read a fuzzed answer triggers fails fast
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
FHIR_KEYS = ("id", "name", "text", "code", "birthDate", "subject", "entry", "resource", "total",
             "link", "identifier", "type", "class", "payor", "status", "clinicalStatus", "bodySite",
             "onsetDateTime", "practitioner", "organization", "partOf", "specialty", "telecom", "display")
resources = st.builds(
    lambda kind, fields: {"resourceType": kind, **fields},
    st.sampled_from(["Patient", "Bundle", "Condition", "Coverage", "Practitioner", "PractitionerRole",
                     "Organization", "OperationOutcome", "Observation"]),
    st.dictionaries(st.sampled_from(FHIR_KEYS), json_values, max_size=6),
)
bundles = st.builds(
    lambda entries, total: {"resourceType": "Bundle", "type": "searchset", "total": total,
                            "entry": [{"resource": r} for r in entries]},
    st.lists(resources, max_size=4),
    json_values,
)
entries = st.builds(
    BatchEntryResponse,
    st.sampled_from([200, 201, 404, 410, 500]),
    st.none() | resources | bundles | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


def _client() -> FhirClient:
    return FhirClient(requests.Session(), CLOSED, "token", 0.5)


@FUZZ
@given(json_values)
def test_any_batch_answer_is_read_or_refused_as_a_mapping_error(answer: Any) -> None:
    bundle = answer if isinstance(answer, dict) else {"entry": answer}
    try:
        responses = responses_from_batch_response(bundle)
    except MappingError:
        return
    assert all(isinstance(r.status, int) for r in responses)


@FUZZ
@given(st.lists(entries, min_size=6, max_size=6))
def test_any_chart_answer_is_a_chart_or_the_ehrs_error(answers: list[BatchEntryResponse]) -> None:
    urls = chart_urls("p1", ATP)
    try:
        chart = chart_from_entries(_client(), urls, answers, ATP, NS)
    except EhrError:
        return
    assert isinstance(chart, Chart)
    assert all(isinstance(c.reference, str) for c in chart.conditions)


CHART = Chart(
    patient=PatientSummary("Patient/p1", "Jane Doe"),
    conditions=(ConditionSummary("Condition/c1", "Sprain of right knee"),
                ConditionSummary("Condition/c2", "Tear <of> & meniscus")),
    coverage=None,
    requester=Requester("Practitioner/atp", "Dr. Sam Atp, DO"),
    physicians=(Physician("PractitionerRole/r1", "Practitioner/p1", "Dr. Ana Ruiz, MD",
                          occupational_medicine=True, clinic=Clinic("Organization/peak", "Peak")),),
    clinics={},
)
text = st.text(max_size=300) | st.sampled_from(["<b>x</b>", "]]>", "&amp;", "\x00", "Is it MMI?"])


@FUZZ
@given(
    referral_id=st.sampled_from(["a" * 32, "0123456789abcdef" * 2, "", "../x", "A" * 32]),
    reasons=st.lists(st.sampled_from(["Condition/c1", "Condition/c2", "Condition/x", ""]) | text,
                     max_size=3),
    questions=st.lists(text, max_size=22),
    modality=st.sampled_from(["in-person", "telehealth", "record-review", "", "x"]) | text,
    physician=st.sampled_from(["PractitionerRole/r1", "PractitionerRole/none", ""]) | text,
)
@example(  # found by this fuzzer: a control character made the narrative ill-formed XML
    referral_id="a" * 32, reasons=["Condition/c1"], questions=["0\x1f0"], modality="in-person",
    physician="PractitionerRole/r1",
)
def test_any_compose_input_is_refused_plainly_or_has_a_well_formed_narrative(
    referral_id: str, reasons: list[str], questions: list[str], modality: str, physician: str
) -> None:
    form = ComposeForm.from_form(MultiDict(
        [("referral_id", referral_id), ("patient", "Patient/p1"), ("modality", modality),
         ("physician", physician)]
        + [("reason", r) for r in reasons] + [("question", q) for q in questions]
    ))
    try:
        referral = referral_from_form(form, CHART, datetime(2026, 11, 23, tzinfo=UTC))
    except FormInvalid as invalid:
        assert invalid.errors and all(isinstance(m, str) and m for m in invalid.errors.values())
        return
    except ReferralInvalid as refused:  # a tampered form (hidden fields): one plain message
        assert refused.message
        return
    resource = service_request_from_referral(referral, NS)
    ElementTree.fromstring(resource["text"]["div"])  # raises on malformed XHTML
