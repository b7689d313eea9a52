"""The compose form: what the ATP typed, kept as typed, and the Referral it becomes once valid."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from werkzeug.datastructures import MultiDict

from fhir_mappings.domain import MODALITIES, Modality, Referral
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import related_clinic_reason, validate_questions
from smart_app.chart import Chart
from smart_app.errors import ReferralInvalid

REFERRAL_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_QUESTION_BOXES = 20


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

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> ComposeForm:
        """Read the submitted form; never trusts it beyond keeping it for redisplay."""
        questions = form.getlist("question")[:MAX_QUESTION_BOXES] or [""]
        return cls(
            referral_id=form.get("referral_id", ""),
            patient=form.get("patient", ""),
            reasons=form.getlist("reason"),
            questions=questions,
            modality=form.get("modality", ""),
            physician=form.get("physician", ""),
        )

    def add_question(self, text: str = "") -> None:
        """One more box (filled with a template's text when one was picked)."""
        if len(self.questions) < MAX_QUESTION_BOXES:
            self.questions.append(text)


def referral_from_form(form: ComposeForm, chart: Chart, authored_on: datetime) -> Referral:
    """Check every field against the chart and the rules (DESIGN §4); raise FormInvalid."""
    if not REFERRAL_ID.match(form.referral_id):
        raise ReferralInvalid("The form was damaged in transit.", "Reload the page and try again.")
    if form.patient != chart.patient.reference:
        raise ReferralInvalid(
            "This form belongs to another patient's launch.",
            "Launch Second Opinion again from this patient's chart.",
        )
    errors: dict[str, str] = {}
    questions = _questions(form, errors)
    reasons = [chart.condition(ref) for ref in form.reasons]
    if any(r is None for r in reasons):
        errors["reasons"] = "Choose reasons for referral from this patient's conditions."
    elif chart.conditions and not reasons:
        errors["reasons"] = "Choose at least one reason for referral."
    if form.modality not in MODALITIES:
        errors["modality"] = "Choose a visit type: in person, telehealth or record review."
    physician = chart.physician(form.physician)
    if physician is None:
        errors["physician"] = "Choose a second-opinion physician from the list."
    elif reason := related_clinic_reason(chart.requester, physician, chart.clinics):
        errors["physician"] = reason
    if errors or physician is None:
        raise FormInvalid(errors)
    return Referral(
        id=form.referral_id,
        patient=chart.patient,
        requester=chart.requester,
        physician=physician,
        modality=_modality(form.modality),
        questions=questions,
        authored_on=authored_on,
        reasons=tuple(r for r in reasons if r is not None),
        coverage=chart.coverage,
    )


def _questions(form: ComposeForm, errors: dict[str, str]) -> tuple[str, ...]:
    try:
        return validate_questions(form.questions)
    except ReferralRuleError as error:
        errors["questions"] = str(error)
        return ()


def _modality(value: str) -> Modality:
    for modality in MODALITIES:
        if modality == value:
            return modality
    raise ReferralInvalid("Choose a visit type.")
