"""The physician's forms as typed: the opinion's fields and the visit's date and time."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from werkzeug.datastructures import MultiDict

from fhir_mappings.opinion_rules import CONCLUSION_FIELDS, OpinionDraft

MAX_VISIT_AHEAD = timedelta(days=366)


def draft_from_form(form: MultiDict[str, str], questions: int) -> OpinionDraft:
    """The answer boxes (one per question, in order) and the conclusion fields, exactly as typed."""
    answers = [form.get(f"answer-{n}", "") for n in range(1, questions + 1)]
    return OpinionDraft(answers, {name: form.get(name, "") for name in CONCLUSION_FIELDS})


def visit_from_form(form: MultiDict[str, str], zone: tzinfo, now: datetime) -> str | dict[str, str]:
    """The visit as a FHIR dateTime with the clinic's offset, or the error to show on the field."""
    typed = form.get("visit", "").strip()
    try:
        local = datetime.strptime(typed, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
    except ValueError:
        return {"visit": "Give the visit's date and time (for example 2026-12-10 09:30)."}
    if local < now.astimezone(zone) - timedelta(hours=1):
        return {"visit": "The visit's date and time must not be in the past."}
    if local > now + MAX_VISIT_AHEAD:
        return {"visit": "Schedule the visit within a year."}
    return local.isoformat(timespec="seconds")
