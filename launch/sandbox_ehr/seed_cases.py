"""Seed cases for the stuck-case check: Patient/wc-10 … wc-16, dated relative to the start day.

Four are stuck, by different rules (docs/domain-rules.md "Stuck case"), two progress, one has
MMI recorded; wc-16 is the one the tests send a referral for. Their visits (Encounter),
function scores, work restrictions and MMI are Observations coded in
`{ns}/CodeSystem/work-injury-progress` (docs/fhir-mapping.md §9): no standard code for them
was verified. Relative dates keep each story true whenever it runs: "today" is the clinic's
day (``SMART_APP_TIME_ZONE``, America/Denver by default, as the app counts weeks), not the
machine's, so a run between midnight UTC and midnight in Colorado tells the same story.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .fhir_codes import ACT_CODE, Json, coding
from .seed_patients import Injury, Worker, worker_resources


def clinic_today() -> date:
    """Today where the clinic is (the app's ``SMART_APP_TIME_ZONE``)."""
    return datetime.now(ZoneInfo(os.environ.get("SMART_APP_TIME_ZONE") or "America/Denver")).date()


@dataclass(frozen=True)
class Case:
    """A worker's course since the injury, in weeks before today."""

    id: str
    given: str
    family: str
    gender: str
    birth_date: str
    claim: str
    injured: int  # weeks ago
    injuries: tuple[tuple[str, str], ...]  # (condition text, body site)
    visits: tuple[int, ...]  # weeks ago, oldest first
    scores: tuple[
        int, ...
    ] = ()  # function score at each of the last visits (0-100, higher is better)
    restrictions: tuple[str, ...] = ()  # work restrictions at each of the last visits
    mmi: bool = False  # MMI recorded at the last visit


CASES = (
    Case(
        "wc-10",
        "Ruth",
        "Calloway",
        "female",
        "1972-05-09",
        "WC-2026-004010",
        40,
        (
            ("Herniated lumbar disc", "Lumbar spine"),
            ("Lumbar radiculopathy, right leg", "Lumbar spine"),
        ),
        (38, 32, 26, 20, 14, 8, 2),
        (40, 52, 63),
        ("Sedentary work only", "Light duty", "Light duty, 6 hours"),
    ),
    Case(
        "wc-11",
        "Dmitri",
        "Volkov",
        "male",
        "1985-10-30",
        "WC-2026-004011",
        14,
        (("Strain of right rotator cuff", "Right shoulder"),),
        (13, 11, 8, 5, 2),
        (35, 50, 62),
        ("No overhead reaching with the right arm; no lifting over 10 lb",) * 4,
    ),
    Case(
        "wc-12",
        "Aisha",
        "Bello",
        "female",
        "1990-01-17",
        "WC-2026-004012",
        16,
        (("Sprain of medial collateral ligament, left knee", "Left knee"),),
        (15, 10, 7, 4, 1),
        (38, 40, 41),
        ("Off work", "Seated work only", "Seated work, 4 hours"),
    ),
    Case(
        "wc-13",
        "Samuel",
        "Ortiz",
        "male",
        "1981-07-02",
        "WC-2026-004013",
        10,
        (("Sprain of right wrist", "Right wrist"),),
        (9, 6, 3, 1),
        (30, 48, 66),
        ("Off work", "Light duty, no gripping with the right hand", "Full duty"),
    ),
    Case(
        "wc-14",
        "Grace",
        "Lindqvist",
        "female",
        "1994-03-25",
        "WC-2026-004014",
        7,
        (("Sprain of left ankle", "Left ankle"),),
        (6, 4, 1),
        (40, 55, 72),
        ("Seated work only", "Full duty"),
    ),
    Case(
        "wc-15",
        "Tobias",
        "Reyes",
        "male",
        "1967-12-11",
        "WC-2026-004015",
        45,
        (("Strain of neck muscles (cervical strain)", "Neck"),),
        (43, 30, 15, 3),
        (45, 58, 60),
        ("Light duty", "Full duty"),
        mmi=True,
    ),
    Case(
        "wc-16",
        "Nadia",
        "Haddad",
        "female",
        "1983-08-14",
        "WC-2026-004016",
        30,
        (("Crush injury of left hand", "Left hand"),),
        (28, 20, 12, 6, 2),
        (30, 33, 34),
        ("Off work", "One-handed work only", "One-handed work only"),
    ),
)


def case_workers(today: date) -> tuple[Worker, ...]:
    """The cases as Workers (Patient, Coverage, Conditions, latest Encounter, records)."""
    return tuple(_worker(case, today) for case in CASES)


def case_resources(namespace: str, today: date) -> list[Json]:
    """Every resource of the cases, their earlier visits and their Observations."""
    out: list[Json] = []
    for case, worker in zip(CASES, case_workers(today), strict=True):
        out += worker_resources(worker, namespace)
        out += [
            _visit(case, n, _ago(today, weeks)) for n, weeks in enumerate(case.visits[:-1], start=2)
        ]
        out += _observations(case, today, namespace)
    return out


def _worker(case: Case, today: date) -> Worker:
    injured = _ago(today, case.injured)
    injuries = tuple(Injury(text, site, injured) for text, site in case.injuries)
    return Worker(
        case.id,
        case.given,
        case.family,
        case.gender,
        case.birth_date,
        case.claim,
        int(case.id[3:]) % 3,
        int(case.id[3:]) % 2,
        _ago(today, case.visits[-1]),
        injuries,
    )


def _ago(today: date, weeks: int) -> str:
    return (today - timedelta(weeks=weeks)).isoformat()


def _visit(case: Case, n: int, on: str) -> Json:
    """An earlier ambulatory visit (`wc-N-enc-1` is the latest, from seed_patients)."""
    return {
        "resourceType": "Encounter",
        "id": f"{case.id}-enc-{n}",
        "status": "finished",
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "subject": {"reference": f"Patient/{case.id}"},
        "participant": [
            {"individual": {"reference": "Practitioner/atp-1", "display": "Dr. Morgan Avery, MD"}}
        ],
        "period": {"start": f"{on}T09:00:00-07:00", "end": f"{on}T09:30:00-07:00"},
    }


def _observations(case: Case, today: date, namespace: str) -> list[Json]:
    """Scores and restrictions at the last visits (the latest last), and MMI when recorded."""
    system = f"{namespace}/CodeSystem/work-injury-progress"
    out = []
    for kind, values in (("function-score", case.scores), ("work-restrictions", case.restrictions)):
        for n, (weeks, value) in enumerate(
            zip(case.visits[-len(values) :], values, strict=True), start=1
        ):
            out.append(_observation(case, f"{kind}-{n}", system, kind, _ago(today, weeks), value))
    if case.mmi:
        out.append(_observation(case, "mmi-1", system, "mmi", _ago(today, case.visits[-1]), True))
    return out


DISPLAY = {
    "function-score": "Function score (0-100, higher is better)",
    "work-restrictions": "Work restrictions",
    "mmi": "Maximum medical improvement reached",
}


def _observation(case: Case, suffix: str, system: str, code: str, on: str, value: object) -> Json:
    resource: Json = {
        "resourceType": "Observation",
        "id": f"{case.id}-obs-{suffix}",
        "status": "final",
        "code": {"coding": [coding(system, code, DISPLAY[code])], "text": DISPLAY[code]},
        "subject": {"reference": f"Patient/{case.id}"},
        "effectiveDateTime": f"{on}T09:15:00-07:00",
    }
    if isinstance(value, bool):
        resource["valueBoolean"] = value
    elif isinstance(value, int):
        resource["valueQuantity"] = {"value": value, "unit": "points"}
    else:
        resource["valueString"] = str(value)
    return resource
