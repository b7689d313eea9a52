"""A referral sent again to another physician keeps its "Opinion needed by" while the composer's
limits still allow it, and takes the default otherwise (docs/domain-rules.md, "Due date")."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from fhir_mappings.domain import Clinic, PatientSummary, Physician, Requester
from smart_app.chart.reader import Chart
from smart_app.referrals.again import referral_again

NOW = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
CHART = Chart(PatientSummary("Patient/wc-1", "Dana Whitfield"), (), None,
              Requester("Practitioner/atp-1", "Dr. Morgan Avery, MD"), (), {})  # fmt: skip
PHYSICIAN = Physician("PractitionerRole/so-2", "Practitioner/so-2-prac", "Dr. Casey Okafor, DO",
                      clinic=Clinic("Organization/org-mesa", "Mesa Worker Health"))  # fmt: skip


def _summary(**kept: Any) -> dict[str, Any]:
    return {"modality": "telehealth", "questions": ["Is she at MMI?"], "window": ["2026-12-10", "2026-12-20"],
            **kept}  # fmt: skip


@pytest.mark.parametrize(("kept", "expected"), [
    ("2027-01-02", date(2027, 1, 2)),  # still after the window and within 60 days of it: kept
    (None, date(2027, 1, 3)),  # sent before the outbox kept it: 14 days after the window
    ("2026-12-15", date(2027, 1, 3)),  # before the window's end now: the default again
    ("2026-11-30", date(2027, 1, 3)),  # already past
])  # fmt: skip
def test_the_due_date_goes_with_the_referral_while_it_still_fits(kept: str | None, expected: date) -> None:
    referral = referral_again(_summary(due_by=kept), CHART, referral_id="b" * 32, physician=PHYSICIAN,
                              authored_on=NOW)  # fmt: skip
    assert referral.window == ("2026-12-10", "2026-12-20")
    assert referral.due_by == expected


def test_a_record_review_takes_30_days_when_its_date_no_longer_fits() -> None:
    summary = {"modality": "record-review", "questions": ["Is she at MMI?"], "due_by": "2028-06-01"}
    referral = referral_again(summary, CHART, referral_id="b" * 32, physician=PHYSICIAN, authored_on=NOW)
    assert referral.due_by == date(2027, 1, 5)
