"""The card's SMART link carries the suggested reasons and questions to the composer as ``appContext``.

CDS Hooks 2.0 §Link: ``appContext`` is a string the EHR hands the app in the token response.
Ours is JSON: ``{"source": "second-opinion/stuck-case", "reasons": ["Condition/…"], "questions": […]}``.
It comes back through the EHR, so it is read defensively: bounded size, unknown shapes ignored,
reasons kept only when they are active Conditions of this chart, questions only when valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fhir_mappings.rules import MAX_QUESTION_LENGTH, MAX_QUESTIONS
from fhir_mappings.text import has_forbidden_character, has_visible_character
from smart_app.chart.reader import Chart
from smart_app.referrals.form import ComposeForm
from smart_app.smart.token import MAX_APP_CONTEXT_CHARS

SOURCE = "second-opinion/stuck-case"
MAX_REASONS = 50
CONDITION = re.compile(r"Condition/[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class Suggestion:
    """What the stuck-case check suggested for the composer."""

    reasons: tuple[str, ...]
    questions: tuple[str, ...]


def app_context_from_suggestion(reasons: Sequence[str], questions: Sequence[str]) -> str:
    """The ``appContext`` string of the card's SMART link (within the size the app accepts back)."""
    kept = list(reasons[:MAX_REASONS])
    while True:
        text = json.dumps(
            {"source": SOURCE, "reasons": kept, "questions": list(questions[:MAX_QUESTIONS])},
            separators=(",", ":"),
        )
        if len(text) <= MAX_APP_CONTEXT_CHARS or not kept:
            return text
        kept.pop()


def suggestion_from_app_context(value: Any) -> Suggestion | None:
    """The suggestion in an ``appContext``, or None when it is not ours or not readable."""
    if not isinstance(value, str) or len(value) > MAX_APP_CONTEXT_CHARS:
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("source") != SOURCE:
        return None
    reasons = [r for r in _strings(doc.get("reasons")) if CONDITION.fullmatch(r)][:MAX_REASONS]
    questions = [q.strip() for q in _strings(doc.get("questions")) if _valid_question(q)][:MAX_QUESTIONS]
    return Suggestion(tuple(dict.fromkeys(reasons)), tuple(questions))


def suggested_form(form: ComposeForm, chart: Chart, context: Mapping[str, Any]) -> tuple[ComposeForm, bool]:
    """The empty form with the launch's suggestion filled in (the ATP may change all of it)."""
    suggestion = suggestion_from_app_context(context.get("appContext"))
    if suggestion is None:
        return form, False
    reasons = [r for r in suggestion.reasons if chart.condition(r) is not None]
    if not reasons and not suggestion.questions:
        return form, False
    return replace(form, reasons=reasons, questions=list(suggestion.questions) or [""]), True


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _valid_question(text: str) -> bool:
    return (
        has_visible_character(text) and not has_forbidden_character(text) and len(text) <= MAX_QUESTION_LENGTH
    )
