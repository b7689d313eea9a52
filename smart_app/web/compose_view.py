"""What the compose page shows: the reasons by injury, the directory, the guard's notes, the preview.

Everything is computed from the chart the launch read, the form as typed and the page's own
search fields, so the page shows the same whether a button posted it or the script asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from fhir_mappings.codes import MODALITY_DISPLAY
from fhir_mappings.condition import condition_matches, conditions_by_injury, injury_date_from_chart
from fhir_mappings.directory_search import DirectoryQuery, DirectoryRow, directory_rows
from fhir_mappings.domain import ConditionSummary, Modality, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.ime_guard import GuardNote, guard_notes
from fhir_mappings.rules import is_level_ii, validate_due_date, validate_questions, validate_window
from fhir_mappings.service_request import note_texts_from_questions
from smart_app.chart.reader import Chart
from smart_app.referrals.earlier import SHOWN as EARLIER_SHOWN
from smart_app.referrals.earlier import EarlierReferral
from smart_app.referrals.form import ComposeForm

VISITS: tuple[Modality, ...] = ("in-person", "telehealth")


@dataclass(frozen=True)
class Reasons:
    """The reason picker: conditions tied to the injury first, after the ATP's filter."""

    injury_date: str | None
    tied: tuple[ConditionSummary, ...]
    others: tuple[ConditionSummary, ...]
    kept: tuple[str, ...]  # chosen references the filter hides, posted again as hidden fields
    filter_text: str
    total: int

    @property
    def shown(self) -> int:
        """How many conditions the filter leaves."""
        return len(self.tied) + len(self.others)


def reasons_view(chart: Chart, form: ComposeForm, filter_text: str) -> Reasons:
    """The chart's conditions split by the date of injury and filtered by the ATP's words."""
    injury = injury_date_from_chart(chart.conditions, chart.coverage.injury_date if chart.coverage else None)
    shown = [c for c in chart.conditions if condition_matches(c, filter_text)]
    tied, others = conditions_by_injury(shown, injury)
    visible = {c.reference for c in shown}
    kept = tuple(reference for reference in form.reasons if reference not in visible)
    return Reasons(injury, tied, others, kept, filter_text.strip(), len(chart.conditions))


def directory_query(fields: MultiDict[str, str]) -> DirectoryQuery:
    """The directory search fields as posted."""
    visit_type = fields.get("find_visit_type", "")
    return DirectoryQuery(
        fields.get("find_name", ""),
        fields.get("find_specialty", ""),
        fields.get("find_level_ii") == "yes",
        next((m for m in MODALITY_DISPLAY if m == visit_type), None),
    )


def directory_view(
    chart: Chart, form: ComposeForm, query: DirectoryQuery, today: date
) -> tuple[list[DirectoryRow], DirectoryRow | None]:
    """The rows the search finds (the chosen physician always among them) and the chosen one."""
    def rows(search: DirectoryQuery) -> list[DirectoryRow]:
        return directory_rows(chart.physicians, chart.requester, chart.clinics, search, today,
                              chosen_modality(form))

    every, found = rows(DirectoryQuery()), rows(query)
    chosen = next((row for row in every if row.physician.role_reference == form.physician), None)
    return (found if chosen is None or chosen in found else [chosen, *found]), chosen


def chosen_modality(form: ComposeForm) -> Modality | None:
    """The visit type typed, when it is one of ours."""
    return next((m for m in MODALITY_DISPLAY if m == form.modality), None)


def requester_level_ii(requester: Requester, today: date) -> bool | None:
    """Whether the ATP holds a current Level II accreditation; None without an ATP."""
    if not requester.reference:
        return None
    return is_level_ii(requester.accreditation, requester.accreditation_end, today)


def notes_view(
    chart: Chart, form: ComposeForm, chosen: DirectoryRow | None, today: date
) -> tuple[GuardNote, ...]:
    """The IME guard's notes on the questions, knowing who asks and whom."""
    return guard_notes(
        form.questions,
        requester_level_ii=requester_level_ii(chart.requester, today),
        physician_level_ii=chosen.accredited if chosen else None,
    )


def due_view(form: ComposeForm, today: date) -> date | None:
    """The due date the referral would carry now (the default when empty), None while invalid."""
    window_end = None
    if chosen_modality(form) in VISITS:
        try:
            window_end = date.fromisoformat(validate_window(form.window_start, form.window_end, today)[1])
        except ReferralRuleError:
            window_end = None
    try:
        return validate_due_date(form.due_by, today, window_end)
    except ReferralRuleError:
        return None


def preview_view(form: ComposeForm, due: date | None) -> list[str]:
    """Exactly the notes the receiving physician will read, once the questions are valid."""
    try:
        return note_texts_from_questions(validate_questions(form.questions), due)
    except ReferralRuleError:
        return []


def before_sending(
    chosen: DirectoryRow | None, notes: tuple[GuardNote, ...], earlier: list[EarlierReferral]
) -> list[str]:
    """Everything the ATP should see again in the preview before pressing Send."""
    lines = list(chosen.warnings) if chosen and not chosen.related else []
    lines += [str(note) for note in notes if note.ime]
    lines += [
        f"This patient already has a second opinion from {item.physician or 'another physician'}, "
        f"sent {item.sent_at.date().isoformat()}: {item.status}."
        for item in earlier if item.open
    ]
    return lines


def page_fields(
    chart: Chart, form: ComposeForm, fields: MultiDict[str, str], today: date,
    earlier: list[EarlierReferral],
) -> dict[str, Any]:
    """The template's variables that depend on the form and the page's own fields."""
    query = directory_query(fields)
    rows, chosen = directory_view(chart, form, query, today)
    notes = notes_view(chart, form, chosen, today)
    due = due_view(form, today)
    modality = chosen_modality(form)
    return {
        "query": query,
        "rows": rows,
        "chosen": chosen,
        "reasons": reasons_view(chart, form, fields.get("find_condition", "")),
        "guard_notes": notes,
        "ime_notes": [note for note in notes if note.ime],
        "fit_notes": [note for note in notes if not note.ime],
        "due": due,
        "preview": preview_view(form, due),
        "before_sending": before_sending(chosen, notes, earlier),
        "earlier": earlier,
        "earlier_shown": EARLIER_SHOWN,
        "show_window": modality in VISITS,
        "show_records": modality == "record-review",
    }
