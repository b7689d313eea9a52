"""A referral built again from what the outbox kept and the launch's chart: re-routing and added records.

Nothing is retyped: the questions, reasons, visit type, requested window, due date and records
of the declined referral go with the new one (docs/delivery.md, "Send to another physician"). The
chart must be this launch's, for the referral's own patient; the rules of the composer apply to
the new physician (related clinic refused, warnings acknowledged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fhir_mappings.domain import MODALITIES, Modality, Physician, RecordSummary, Referral, Replaced
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import (
    default_due_date,
    physician_warnings,
    related_clinic_reason,
    validate_due_date,
    validate_window,
)
from smart_app.chart.reader import Chart
from smart_app.errors import ReferralInvalid


def referral_again(
    summary: Mapping[str, Any],
    chart: Chart,
    *,
    referral_id: str,
    physician: Physician,
    authored_on: datetime,
    replaces: Replaced | None = None,
    records: Sequence[RecordSummary] | None = None,
) -> Referral:
    """The kept referral for ``physician``; ``records`` replace the kept ones when given."""
    modality = next((m for m in MODALITIES if m == summary.get("modality")), None)
    questions = tuple(str(q) for q in summary.get("questions") or ())
    if modality is None or not questions:
        raise ReferralInvalid(
            "This referral was sent before Second Opinion kept what a new one needs.",
            "Start a new referral from the compose page; nothing was sent.",
        )
    kept_reasons = set(summary.get("reasons") or ())
    reasons = tuple(c for c in chart.conditions if c.reference in kept_reasons)
    if kept_reasons and not reasons:
        raise ReferralInvalid(
            "The reasons for this referral are no longer among the patient's conditions.",
            "Start a new referral from the compose page; nothing was sent.",
        )
    window = _window(summary, modality, authored_on)
    return Referral(
        id=referral_id, patient=chart.patient, requester=chart.requester, physician=physician,
        modality=modality, questions=questions, authored_on=authored_on, reasons=reasons,
        coverage=chart.coverage, records=_kept_records(summary, chart) if records is None else tuple(records),
        window=window, replaces=replaces, due_by=_due_by(summary, window, authored_on),
    )  # fmt: skip


def chosen_physician(
    chart: Chart, role: str, acknowledged: bool, today: datetime, modality: Modality | None
) -> Physician:
    """The physician picked from the directory, by the composer's rules; ReferralInvalid in plain words."""
    physician = chart.physician(role)
    if physician is None:
        raise ReferralInvalid("Choose a second-opinion physician from the list.")
    if reason := related_clinic_reason(chart.requester, physician, chart.clinics):
        raise ReferralInvalid(reason)
    if physician_warnings(physician, today.date(), modality) and not acknowledged:
        raise ReferralInvalid("Please confirm that you want this physician despite the warning shown.")
    return physician


def _kept_records(summary: Mapping[str, Any], chart: Chart) -> tuple[RecordSummary, ...]:
    """The declined referral's records, as the chart lists them now (read again when sent)."""
    wanted = [str(r.get("reference")) for r in summary.get("records") or () if isinstance(r, Mapping)]
    found = [chart.record(reference) for reference in wanted]
    if any(record is None for record in found):
        raise ReferralInvalid(
            "A record shared with this referral is no longer in the patient's chart.",
            "Start a new referral from the compose page and choose the records again; nothing was sent.",
        )
    return tuple(record for record in found if record is not None)


def _window(summary: Mapping[str, Any], modality: str, authored_on: datetime) -> tuple[str, str] | None:
    """The requested window while it is still ahead; a window already past is not sent again."""
    window = summary.get("window")
    if modality not in ("in-person", "telehealth") or not isinstance(window, list) or len(window) != 2:
        return None
    start = max(str(window[0]), authored_on.date().isoformat())  # FHIR dates compare as text
    try:
        return validate_window(start, str(window[1]), authored_on.date())
    except ReferralRuleError:
        return None


def _due_by(summary: Mapping[str, Any], window: tuple[str, str] | None, authored_on: datetime) -> date:
    """The kept "Opinion needed by" while the composer's limits still allow it, else the default
    (docs/domain-rules.md, "Due date")."""
    today = authored_on.date()
    window_end = date.fromisoformat(window[1]) if window else None
    kept = summary.get("due_by")
    try:
        return validate_due_date(kept if isinstance(kept, str) else "", today, window_end)
    except ReferralRuleError:
        return default_due_date(today, window_end)
