"""The "Opinion needed by" date: its rules, the ServiceRequest's note, the Task's restriction."""

from dataclasses import replace
from datetime import date

import pytest

from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import default_due_date, validate_due_date
from fhir_mappings.service_request import (
    due_by_from_service_request,
    note_texts_from_questions,
    service_request_from_referral,
)
from fhir_mappings.task import task_from_referral
from tests.unit.test_service_request import NS, REFERRAL

TODAY = date(2026, 3, 2)
WINDOW_END = date(2026, 4, 1)


def test_an_empty_date_takes_the_default() -> None:
    assert validate_due_date("", TODAY, WINDOW_END) == date(2026, 4, 15)  # 14 days after the window
    assert validate_due_date(" ", TODAY, None) == date(2026, 4, 1)  # a record review: 30 days
    assert default_due_date(TODAY, None) == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("raw", "window_end", "message"),
    [
        ("2026-03-02", None, "a day after today"),
        ("2026-02-01", None, "a day after today"),
        ("2026-03-31", WINDOW_END, "before the visit window ends (2026-04-01)"),
        ("2026-06-01", WINDOW_END, "within 60 days after the visit window ends"),
        ("2027-03-03", None, "within a year"),
        ("tomorrow", None, "as a date"),
    ],
)
def test_a_due_date_out_of_bounds_is_refused(raw: str, window_end: date | None, message: str) -> None:
    with pytest.raises(ReferralRuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_due_date(raw, TODAY, window_end)


def test_the_limits_are_inclusive() -> None:
    assert validate_due_date("2026-03-03", TODAY, None) == date(2026, 3, 3)
    assert validate_due_date("2026-04-01", TODAY, WINDOW_END) == WINDOW_END
    assert validate_due_date("2026-05-31", TODAY, WINDOW_END) == date(2026, 5, 31)


def test_the_due_date_is_a_note_after_the_questions_and_reads_back() -> None:
    referral = replace(REFERRAL, due_by=date(2026, 4, 15))
    resource = service_request_from_referral(referral, NS)
    notes = [note["text"] for note in resource["note"]]
    assert notes[-1] == "Opinion needed by 2026-04-15."
    assert notes == note_texts_from_questions(referral.questions, referral.due_by)
    assert due_by_from_service_request(resource) == date(2026, 4, 15)
    assert "Opinion needed by:</b> 2026-04-15" in resource["text"]["div"]


def test_no_due_date_no_note_and_a_bad_one_reads_as_none() -> None:
    resource = service_request_from_referral(REFERRAL, NS)
    assert not any(n["text"].startswith("Opinion needed by") for n in resource["note"])
    assert due_by_from_service_request(resource) is None
    assert due_by_from_service_request({"note": [{"text": "Opinion needed by 2026-02-30."}]}) is None


def test_the_task_carries_the_due_date_as_restriction_period_end() -> None:
    task = task_from_referral(replace(REFERRAL, due_by=date(2026, 4, 15)), NS, focus="urn:uuid:sr",
                              patient="urn:uuid:pt", authored_on="2026-03-02T09:30:00-07:00")
    assert task["restriction"] == {"period": {"end": "2026-04-15"}}
    plain = task_from_referral(REFERRAL, NS, focus="a", patient="b", authored_on="2026-03-02")
    assert "restriction" not in plain
