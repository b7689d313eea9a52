"""Is this workers' comp case stuck short of MMI? Pure rules over FHIR R4 JSON (docs/domain-rules.md).

The facts come from the chart (active Conditions, Coverage, Encounters, the
work-injury Observations of docs/fhir-mapping.md §9 and our second-opinion
ServiceRequests); "today" and the thresholds are parameters, never read here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from fhir_mappings.codeable_concept import has_code, text_from_codeable_concept
from fhir_mappings.codes import (
    FUNCTION_SCORE,
    MMI_REACHED,
    SECOND_OPINION_CODE,
    SECOND_OPINION_SYSTEM_ID,
    WORK_INJURY_PROGRESS_SYSTEM_ID,
    WORK_RESTRICTIONS,
    local_system,
)
from fhir_mappings.condition import condition_summary_from_condition, injury_date_from_chart
from fhir_mappings.coverage import coverage_summary_from_coverage, injury_date_from_coverage
from fhir_mappings.domain import ConditionSummary
from fhir_mappings.element import mapping_from_element, string_from_element
from fhir_mappings.rules import QUESTION_BY_TOPIC

RuleId = Literal["no-mmi-past-expected", "same-restrictions", "no-functional-gain"]
Block = Literal["no-workers-comp", "no-injury-date", "mmi-recorded", "opinion-open", "opinion-recent"]
OPEN_REQUEST_STATUSES = frozenset({"draft", "active", "on-hold"})
WITHDRAWN_STATUSES = frozenset({"entered-in-error", "cancelled", "planned", "revoked"})
QUESTION_DIAGNOSIS, QUESTION_PLAN, QUESTION_MMI, QUESTION_RESTRICTIONS = (
    QUESTION_BY_TOPIC[topic] for topic in ("Diagnosis", "Treatment plan", "MMI", "Work restrictions")
)


@dataclass(frozen=True)
class StuckThresholds:
    """When a case counts as stuck: deployment settings (docs/domain-rules.md names their sources)."""

    weeks_without_mmi: int = 26  # time since injury past which "no MMI" is a finding
    same_restrictions_weeks: int = 6  # the same work restrictions for this long is a finding
    scored_visits: int = 3  # the last N function scores are compared
    min_function_gain: float = 10.0  # points on the 0-100 score across those N visits
    recent_opinion_days: int = 180  # a second opinion answered this recently: no suggestion


@dataclass(frozen=True)
class CaseFacts:
    """What the rules read from the chart, each with its date."""

    conditions: tuple[ConditionSummary, ...]  # active ones
    workers_comp: bool
    injury_date: date | None  # the claim's date of injury, else the earliest onset of the active conditions
    visits: tuple[date, ...]  # Encounters since the injury, oldest first
    scores: tuple[tuple[date, float], ...]  # function scores, oldest first
    restrictions: tuple[tuple[date, str], ...]  # work restrictions as written, oldest first
    mmi_on: date | None  # the latest MMI recorded
    open_opinion: bool  # a second-opinion ServiceRequest draft, active or on hold
    last_answered: date | None  # when a completed second opinion last changed
    injury_from_claim: bool = False  # the date of injury is the claim's (Coverage.period.start)


@dataclass(frozen=True)
class Finding:
    """One reason the case looks stuck: the evidence in a sentence and the question it suggests."""

    rule: RuleId
    summary: str  # a short phrase for the card's summary
    evidence: str  # dates and counts, nothing guessed
    question: str


@dataclass(frozen=True)
class Verdict:
    """The findings, or why no second opinion is suggested."""

    facts: CaseFacts
    findings: tuple[Finding, ...] = ()
    blocked: Block | None = None

    @property
    def stuck(self) -> bool:
        """True when a second opinion should be suggested."""
        return self.blocked is None and bool(self.findings)

    @property
    def questions(self) -> tuple[str, ...]:
        """The suggested questions: the diagnosis first, then one per finding."""
        return tuple(dict.fromkeys((QUESTION_DIAGNOSIS, *(f.question for f in self.findings))))


def case_facts_from_resources(resources: Mapping[str, Sequence[Mapping[str, Any]]], ns: str) -> CaseFacts:
    """The facts from resources by kind: conditions, coverages, encounters, observations, service_requests."""
    conditions = tuple(
        summary
        for summary in (condition_summary_from_condition(c) for c in resources.get("conditions", ()))
        if summary.clinical_status == "active"
    )
    claims = [c for c in resources.get("coverages", ()) if _active_workers_comp(c)]
    claim_date = next((d for c in claims if (d := injury_date_from_coverage(c))), None)
    injury = date_from_fhir(injury_date_from_chart(conditions, claim_date))  # as the composer and letter
    progress = local_system(ns, WORK_INJURY_PROGRESS_SYSTEM_ID)
    observations = [o for o in resources.get("observations", ()) if _current(o)]
    opinions = [r for r in resources.get("service_requests", ()) if _is_second_opinion(r, ns)]
    answered = [_last_changed(r) for r in opinions if r.get("status") == "completed"]
    return CaseFacts(
        conditions=conditions,
        workers_comp=any(_active_workers_comp(c) for c in resources.get("coverages", ())),
        injury_date=injury,
        injury_from_claim=claim_date is not None and injury == date_from_fhir(claim_date),
        visits=tuple(
            sorted(
                d
                for d in map(_visit_date, resources.get("encounters", ()))
                if d and (injury is None or d >= injury)
            )
        ),
        scores=tuple(sorted(_scores(observations, progress))),
        restrictions=tuple(sorted(_texts(observations, progress, WORK_RESTRICTIONS[0]))),
        mmi_on=max((d for d, _ in _mmi(observations, progress)), default=None),
        open_opinion=any(r.get("status") in OPEN_REQUEST_STATUSES for r in opinions),
        last_answered=max((d for d in answered if d), default=None),
    )


def stuck_case_verdict(facts: CaseFacts, thresholds: StuckThresholds, today: date) -> Verdict:
    """The gates first (never a suggestion past one of them), then every rule."""
    blocked = _blocked(facts, thresholds, today)
    if blocked is not None:
        return Verdict(facts, blocked=blocked)
    rules = (_no_mmi_past_expected, _same_restrictions, _no_functional_gain)
    findings = tuple(f for f in (rule(facts, thresholds, today) for rule in rules) if f)
    return Verdict(facts, findings)


def _blocked(facts: CaseFacts, thresholds: StuckThresholds, today: date) -> Block | None:
    recent = today - timedelta(days=thresholds.recent_opinion_days)
    if not facts.workers_comp:
        return "no-workers-comp"
    if facts.mmi_on is not None:
        return "mmi-recorded"
    if facts.open_opinion:
        return "opinion-open"
    if facts.last_answered is not None and facts.last_answered >= recent:
        return "opinion-recent"
    if facts.injury_date is None:
        return "no-injury-date"
    return None


def _no_mmi_past_expected(facts: CaseFacts, thresholds: StuckThresholds, today: date) -> Finding | None:
    """Time since injury past the expected time to MMI, with no MMI recorded."""
    assert facts.injury_date is not None
    weeks = (today - facts.injury_date).days // 7
    if weeks < thresholds.weeks_without_mmi:
        return None
    visits = f"{len(facts.visits)} visit{'s' if len(facts.visits) != 1 else ''} since"
    last = f", the last on {facts.visits[-1].isoformat()}" if facts.visits else ""
    return Finding(
        "no-mmi-past-expected",
        f"no MMI {weeks} weeks after the injury",
        f"Injured {facts.injury_date.isoformat()} ({_injury_source(facts)}): {weeks} weeks ago, "
        f"and no MMI is recorded; {visits}{last}. This deployment "
        f"expects MMI within {thresholds.weeks_without_mmi} weeks.",
        QUESTION_MMI,
    )


def _injury_source(facts: CaseFacts) -> str:
    """Where the date of injury comes from, in the card's evidence."""
    if facts.injury_from_claim:
        return "the claim's date of injury"
    return f"earliest onset of the {len(facts.conditions)} active conditions"


def _same_restrictions(facts: CaseFacts, thresholds: StuckThresholds, today: date) -> Finding | None:
    """The latest work restrictions unchanged, as written, for many weeks."""
    if not facts.restrictions:
        return None
    latest_on, latest = facts.restrictions[-1]
    run: list[date] = []
    for on, text in reversed(facts.restrictions):  # back from the latest while unchanged
        if not _same_text(text, latest):
            break
        run.insert(0, on)
    weeks = (latest_on - run[0]).days // 7
    if len(run) < 2 or weeks < thresholds.same_restrictions_weeks:
        return None
    quoted = latest if len(latest) <= 80 else latest[:77] + "..."
    return Finding(
        "same-restrictions",
        f"same work restrictions for {weeks} weeks",
        f'The same work restrictions ("{quoted}") were recorded at {len(run)} visits from '
        f"{run[0].isoformat()} to {latest_on.isoformat()} ({weeks} weeks).",
        QUESTION_RESTRICTIONS,
    )


def _no_functional_gain(facts: CaseFacts, thresholds: StuckThresholds, today: date) -> Finding | None:
    """No documented functional improvement across the last several scored visits."""
    last = facts.scores[-thresholds.scored_visits :]
    if thresholds.scored_visits < 2 or len(last) < thresholds.scored_visits:
        return None
    (first_on, first), (last_on, latest) = last[0], last[-1]
    gain = latest - first
    if gain >= thresholds.min_function_gain:
        return None
    return Finding(
        "no-functional-gain",
        f"no functional gain across {len(last)} visits",
        f"Function score {first:g} on {first_on.isoformat()} and {latest:g} on {last_on.isoformat()} "
        f"across {len(last)} scored visits: a change of {gain:+g} points (this deployment looks for "
        f"a gain of at least {thresholds.min_function_gain:g}).",
        QUESTION_PLAN,
    )


def date_from_fhir(value: Any) -> date | None:
    """The calendar date of a FHIR date or dateTime ("2026-02-10", "2026-02-10T09:00:00-07:00")."""
    text = string_from_element(value)
    if text is None or len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _current(resource: Mapping[str, Any]) -> bool:
    return resource.get("status") not in WITHDRAWN_STATUSES


def _visit_date(encounter: Mapping[str, Any]) -> date | None:
    """Encounter.period.start of a visit that took place (https://hl7.org/fhir/R4/encounter-definitions.html#Encounter.status)."""
    if not _current(encounter):
        return None
    return date_from_fhir(mapping_from_element(encounter.get("period")).get("start"))


def _effective(observation: Mapping[str, Any]) -> date | None:
    """Observation.effective[x] (dateTime or Period.start), else issued."""
    period = mapping_from_element(observation.get("effectivePeriod"))
    return (
        date_from_fhir(observation.get("effectiveDateTime"))
        or date_from_fhir(period.get("start"))
        or date_from_fhir(observation.get("issued"))
    )


def _with_code(
    observations: Sequence[Mapping[str, Any]], system: str, code: str
) -> list[tuple[date, Mapping[str, Any]]]:
    found = [(_effective(o), o) for o in observations if has_code(o.get("code"), {(system, code)})]
    return [(on, o) for on, o in found if on is not None]


def _scores(observations: Sequence[Mapping[str, Any]], system: str) -> list[tuple[date, float]]:
    """valueQuantity.value or valueInteger, 0 to 100 (anything else is not a score)."""
    out = []
    for on, o in _with_code(observations, system, FUNCTION_SCORE[0]):
        value = mapping_from_element(o.get("valueQuantity")).get("value", o.get("valueInteger"))
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
            out.append((on, float(value)))
    return out


def _texts(observations: Sequence[Mapping[str, Any]], system: str, code: str) -> list[tuple[date, str]]:
    """valueString, else valueCodeableConcept's text."""
    out = []
    for on, o in _with_code(observations, system, code):
        text = string_from_element(o.get("valueString")) or text_from_codeable_concept(
            o.get("valueCodeableConcept")
        )
        if text:
            out.append((on, text))
    return out


def _mmi(observations: Sequence[Mapping[str, Any]], system: str) -> list[tuple[date, Mapping[str, Any]]]:
    """MMI recorded: valueBoolean true, or a valueDateTime (the MMI date)."""
    found = _with_code(observations, system, MMI_REACHED[0])
    return [
        (date_from_fhir(o.get("valueDateTime")) or on, o)
        for on, o in found
        if o.get("valueBoolean") is True or date_from_fhir(o.get("valueDateTime"))
    ]


def _active_workers_comp(coverage: Mapping[str, Any]) -> bool:
    summary = coverage_summary_from_coverage(coverage)
    return summary.is_workers_comp and summary.status in ("active", None)


def _is_second_opinion(resource: Mapping[str, Any], ns: str) -> bool:
    system = local_system(ns, SECOND_OPINION_SYSTEM_ID)
    return resource.get("resourceType") == "ServiceRequest" and has_code(
        resource.get("code"), {(system, SECOND_OPINION_CODE)}
    )


def _last_changed(resource: Mapping[str, Any]) -> date | None:
    """meta.lastUpdated (the answer is filed by completing it), else authoredOn."""
    return date_from_fhir(mapping_from_element(resource.get("meta")).get("lastUpdated")) or date_from_fhir(
        resource.get("authoredOn")
    )
