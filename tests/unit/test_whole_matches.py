"""Ids, keys and numbers are whole matches of what they may be: no final newline, ASCII digits only."""

from __future__ import annotations

import pytest

from fhir_mappings.bundle import responses_from_batch_response
from fhir_mappings.errors import MappingError
from fhir_mappings.reference import reference_from_url
from smart_app.chart.paging import offset_windows
from smart_app.referrals.form import ComposeForm
from smart_app.smart.backend_services import retry_after_seconds

ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("action", ["remove-0\n", "remove-\u0660", "remove-0 ", "xremove-0"])
def test_a_question_button_is_a_whole_known_action(action: str) -> None:
    form = ComposeForm(referral_id=ID, patient="Patient/p", questions=["a", "b"])
    form.apply(action)
    assert form.questions == ["a", "b"]
    form.apply("remove-0")
    assert form.questions == ["b"]


def test_a_reference_is_read_whole() -> None:
    assert reference_from_url(" Patient/p1 ") == "Patient/p1"  # surrounding space is read liberally
    for url in ("Patient/p1\nx", "Patient/p1/x", "Patient/p1?x=1"):
        with pytest.raises(MappingError):
            reference_from_url(url)


def test_a_batch_status_is_ascii_digits() -> None:
    bundle = {"resourceType": "Bundle", "type": "batch-response",
              "entry": [{"response": {"status": "\u0662\u0660\u0661 Created"}}]}
    with pytest.raises(MappingError):
        responses_from_batch_response(bundle)


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "1\u00b2"])
def test_numbers_from_other_servers_are_ascii_digits(value: str) -> None:
    assert retry_after_seconds(value) is None
    first = {"resourceType": "Bundle", "total": 30,
             "link": [{"relation": "next", "url": f"https://ehr.example/fhir/Condition?_offset={value}&_count=10"}]}
    assert offset_windows(first) == []
    assert retry_after_seconds("7") == 7.0
