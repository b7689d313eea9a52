"""The compose form: what the ATP typed, kept as typed, and the Referral it becomes once valid.

Nothing typed is ever dropped or cut here: limits are checked by ``referral_from_form``
and refused with the text kept (docs/domain-rules.md, "Questions").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from werkzeug.datastructures import MultiDict

from fhir_mappings.domain import (
    MODALITIES,
    ConditionSummary,
    Modality,
    Physician,
    RecordSummary,
    Referral,
)
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import (
    MAX_QUESTION_LENGTH,
    MAX_QUESTIONS,
    QUESTION_TEMPLATES,
    physician_warnings,
    related_clinic_reason,
    validate_due_date,
    validate_questions,
    validate_window,
)
from smart_app.chart.reader import Chart
from smart_app.errors import ReferralInvalid

REFERRAL_ID = re.compile(r"[0-9a-f]{32}")  # fullmatch: "$" would accept a final newline
_MOVE = re.compile(r"(remove|up|down)-([0-9]{1,3})")
# The largest valid form, percent-encoded: 20 questions of 1,000 characters at up to 12 bytes
# each (a 4-byte UTF-8 character is %XX%XX%XX%XX), 2,000 reasons and 100 records of at most
# 100 bytes, and the other fields; doubled for headroom. tests/unit/test_compose_defects.py
# posts the largest form to check it.
MAX_FORM_BYTES = 2 * (MAX_QUESTIONS * MAX_QUESTION_LENGTH * 12 + 2_100 * 100 + 8_192)


class FormInvalid(ReferralInvalid):
    """The form has field errors; the page is shown again with them and with the input kept."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("Some answers need your attention: " + " ".join(errors.values()))
        self.errors = dict(errors)


@dataclass
class ComposeForm:
    """The form's fields as strings, exactly as submitted."""

    referral_id: str
    patient: str
    reasons: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=lambda: [""])
    modality: str = ""
    physician: str = ""
    records: list[str] = field(default_factory=list)
    window_start: str = ""
    window_end: str = ""
    acknowledged: bool = False
    due_by: str = ""  # empty: the default (fhir_mappings.rules.default_due_date)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> ComposeForm:
        """Read the submitted form; never trusts it beyond keeping it for redisplay."""
        return cls(
            referral_id=form.get("referral_id", ""),
            patient=form.get("patient", ""),
            reasons=form.getlist("reason"),
            questions=form.getlist("question") or [""],
            modality=form.get("modality", ""),
            physician=form.get("physician", ""),
            records=form.getlist("record"),
            window_start=form.get("window_start", ""),
            window_end=form.get("window_end", ""),
            acknowledged=form.get("acknowledge") == "yes",
            due_by=form.get("due_by", ""),
        )

    def apply(self, action: str, template: str = "") -> int | None:
        """A question button: add (blank or a template), remove, or move one up or down.

        Returns the index of the box the ATP should land on (the new, filled or moved one).
        """
        if action == "add-question" and len(self.questions) < MAX_QUESTIONS:
            self.questions.append("")
            return len(self.questions) - 1
        if action == "add-template" and template in QUESTION_TEMPLATES:
            blank = next((i for i, q in enumerate(self.questions) if not q.strip()), None)
            if blank is not None:
                self.questions[blank] = template
                return blank
            if len(self.questions) < MAX_QUESTIONS:
                self.questions.append(template)
                return len(self.questions) - 1
        elif (match := _MOVE.fullmatch(action)) and 0 <= int(match[2]) < len(self.questions):
            return self._move(match[1], int(match[2]))
        return None

    def _move(self, verb: str, index: int) -> int:
        if verb == "remove":
            del self.questions[index]
            self.questions = self.questions or [""]
            return min(index, len(self.questions) - 1)
        other = index - 1 if verb == "up" else index + 1
        if 0 <= other < len(self.questions):
            self.questions[index], self.questions[other] = self.questions[other], self.questions[index]
            return other
        return index


def referral_from_form(form: ComposeForm, chart: Chart, authored_on: datetime) -> Referral:
    """Check every field against the chart and the rules (docs/domain-rules.md); raise FormInvalid."""
    _check_origin(form, chart)
    errors: dict[str, str] = {}
    questions = _questions(form, errors)
    reasons = _reasons(form, chart, errors)
    modality = _modality(form.modality)
    if modality is None:
        errors["modality"] = "Choose a visit type: in person, telehealth or record review."
    records = _records(form, chart, modality, errors)
    window = _window(form, modality, authored_on, errors)
    physician = _physician(form, chart, authored_on, modality, errors)
    due_by = _due_by(form, window, authored_on, errors)
    if errors or physician is None or modality is None:
        raise FormInvalid(errors)
    return Referral(
        id=form.referral_id,
        patient=chart.patient,
        requester=chart.requester,
        physician=physician,
        modality=modality,
        questions=questions,
        authored_on=authored_on,
        reasons=reasons,
        coverage=chart.coverage,
        records=records,
        window=window,
        due_by=due_by,
    )


def _check_origin(form: ComposeForm, chart: Chart) -> None:
    if not REFERRAL_ID.fullmatch(form.referral_id):
        raise ReferralInvalid("The form was damaged in transit.", "Reload the page and try again.")
    if form.patient != chart.patient.reference:
        raise ReferralInvalid(
            "This form belongs to another patient's launch.",
            "Launch Second Opinion again from this patient's chart.",
        )


def _questions(form: ComposeForm, errors: dict[str, str]) -> tuple[str, ...]:
    try:
        return validate_questions(form.questions)
    except ReferralRuleError as error:
        errors["questions"] = str(error)
        return ()


def _reasons(
    form: ComposeForm, chart: Chart, errors: dict[str, str]
) -> tuple[ConditionSummary, ...]:
    """A set of the chart's conditions, in the chart's order: repeats count once."""
    chosen = set(form.reasons)
    reasons = tuple(c for c in chart.conditions if c.reference in chosen)
    if len(reasons) != len(chosen):
        errors["reasons"] = "Choose reasons for referral from this patient's conditions."
    elif chart.conditions and not reasons:
        errors["reasons"] = "Choose at least one reason for referral."
    return reasons


def _records(
    form: ComposeForm, chart: Chart, modality: Modality | None, errors: dict[str, str]
) -> tuple[RecordSummary, ...]:
    """For a record review, a set of the chart's own records (at least one); none otherwise."""
    if modality != "record-review":
        return ()
    chosen = set(form.records)
    records = tuple(r for r in chart.records if r.reference in chosen)
    if len(records) != len(chosen):
        errors["records"] = "Choose records from this patient's chart."
    elif not records:
        errors["records"] = "For a record review, choose at least one record to share."
    return records


def _window(
    form: ComposeForm, modality: Modality | None, authored_on: datetime, errors: dict[str, str]
) -> tuple[str, str] | None:
    if modality not in ("in-person", "telehealth"):
        return None
    try:
        return validate_window(form.window_start, form.window_end, authored_on.date())
    except ReferralRuleError as error:
        errors["window"] = str(error)
        return None


def _due_by(
    form: ComposeForm, window: tuple[str, str] | None, authored_on: datetime, errors: dict[str, str]
) -> date | None:
    """The opinion's due date, after the window when there is one (docs/domain-rules.md, "Due date")."""
    window_end = date.fromisoformat(window[1]) if window else None
    try:
        return validate_due_date(form.due_by, authored_on.date(), window_end)
    except ReferralRuleError as error:
        errors["due_by"] = str(error)
        return None


def _physician(
    form: ComposeForm,
    chart: Chart,
    authored_on: datetime,
    modality: Modality | None,
    errors: dict[str, str],
) -> Physician | None:
    physician = chart.physician(form.physician)
    if physician is None:
        errors["physician"] = "Choose a second-opinion physician from the list."
    elif reason := related_clinic_reason(chart.requester, physician, chart.clinics):
        errors["physician"] = reason
    elif physician_warnings(physician, authored_on.date(), modality) and not form.acknowledged:
        errors["acknowledge"] = (
            "Please confirm that you want this physician despite the warning shown."
        )
    return physician


def _modality(value: str) -> Modality | None:
    return next((modality for modality in MODALITIES if modality == value), None)
