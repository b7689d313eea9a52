"""What a signed second opinion must hold (docs/domain-rules.md, "The physician's opinion").

An answer to every question, and a conclusion a workers' comp ATP can act on: MMI reached (with
its date), not yet (with when it is expected) or cannot be determined; work-relatedness; work
restrictions; treatment recommendations; a summary. Every field is checked at once and each
problem is named in plain words for the field it belongs to; nothing typed is dropped.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from fhir_mappings.domain import MMI_STATUSES, WORK_RELATEDNESS, Conclusion
from fhir_mappings.text import has_forbidden_character, has_visible_character

MAX_ANSWER_LENGTH = 10_000
MAX_FIELD_LENGTH = 5_000
CONCLUSION_FIELDS = ("mmi", "mmi_date", "mmi_expected", "work_relatedness", "work_relatedness_note",
                     "work_restrictions", "treatment", "summary")  # fmt: skip
LABELS = {
    "mmi_date": "the date of MMI",
    "mmi_expected": "when MMI is expected",
    "work_relatedness_note": "the work-relatedness explanation",
    "work_restrictions": "the work restrictions",
    "treatment": "the treatment recommendations",
    "summary": "the summary",
}


class OpinionIncomplete(ValueError):
    """The opinion cannot be signed yet; ``errors`` maps each field to what it needs, in plain words."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


@dataclass
class OpinionDraft:
    """The answer boxes and the conclusion exactly as typed (a draft may be incomplete)."""

    answers: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # CONCLUSION_FIELDS → text

    def value(self, name: str) -> str:
        """A conclusion field as typed, "" when empty."""
        return self.values.get(name, "")


def opinion_from_draft(
    draft: OpinionDraft, questions: Sequence[str], today: date
) -> tuple[tuple[str, ...], Conclusion]:
    """The answers in question order and the conclusion, or OpinionIncomplete naming every problem."""
    errors: dict[str, str] = {}
    answers = tuple(_answer(draft, n, errors) for n in range(1, len(questions) + 1))
    for name, label in LABELS.items():
        _check_text(draft.value(name), label, name, errors)
    mmi = next((m for m in MMI_STATUSES if m == draft.value("mmi")), None)
    if mmi is None:
        errors["mmi"] = "Say whether the patient has reached MMI: yes, not yet, or cannot be determined."
    mmi_date = _mmi_date(draft.value("mmi_date"), today, errors) if mmi == "reached" else None
    expected = draft.value("mmi_expected").strip()
    if mmi == "not-reached" and not expected:
        errors["mmi_expected"] = "Say when MMI is expected (for example, in 8 to 12 weeks)."
    relatedness = next((w for w in WORK_RELATEDNESS if w == draft.value("work_relatedness")), None)
    if relatedness is None:
        errors["work_relatedness"] = "Say whether the condition is work-related."
    for name in ("work_restrictions", "treatment", "summary"):
        if name not in errors and not has_visible_character(draft.value(name)):
            errors[name] = f"Write {LABELS[name]} (write \"none\" if there are none)."
    if errors or mmi is None or relatedness is None:
        raise OpinionIncomplete(errors)
    return answers, Conclusion(
        mmi=mmi, summary=draft.value("summary").strip(), mmi_date=mmi_date,
        mmi_expected=expected if mmi == "not-reached" else None, work_relatedness=relatedness,
        work_relatedness_note=draft.value("work_relatedness_note").strip() or None,
        work_restrictions=draft.value("work_restrictions").strip(),
        treatment=draft.value("treatment").strip(),
    )  # fmt: skip


def _answer(draft: OpinionDraft, number: int, errors: dict[str, str]) -> str:
    text = draft.answers[number - 1].strip() if number <= len(draft.answers) else ""
    name = f"answer-{number}"
    if not has_visible_character(text):
        errors[name] = f"Answer question {number}."
    elif has_forbidden_character(text):
        errors[name] = f"Answer {number} contains a character that cannot be sent (a control character, " \
                       "often pasted from another program): please retype that part."
    elif len(text) > MAX_ANSWER_LENGTH:
        errors[name] = f"Answer {number} is too long: please keep it under {MAX_ANSWER_LENGTH:,} characters."
    return text


def _check_text(text: str, label: str, name: str, errors: dict[str, str]) -> None:
    if has_forbidden_character(text):
        errors[name] = f"{label.capitalize()} contains a character that cannot be sent: please retype it."
    elif len(text) > MAX_FIELD_LENGTH:
        errors[name] = f"{label.capitalize()} is too long: keep it under {MAX_FIELD_LENGTH:,} characters."


def _mmi_date(value: str, today: date, errors: dict[str, str]) -> str | None:
    """The date of MMI: a real date, not in the future (MMI is reached, not planned)."""
    try:
        found = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        errors["mmi_date"] = "Give the date the patient reached MMI (year-month-day)."
        return None
    if found > today:
        errors["mmi_date"] = ("The date of MMI cannot be in the future; if MMI is only expected, "
                              "choose \"not yet\".")
        return None
    return found.isoformat()
