"""Seed patients: synthetic injured workers with Conditions, an Encounter, a workers' comp
Coverage (docs/fhir-mapping.md §5) and records; Patient/wc-6 is a heavy chart of 320 Conditions,
wc-7 a chart of 200 for the benchmark; wc-8 starts small and the tests and the benchmark
add thousands of Conditions to it (seeding them here would slow every start). Patient/wc-9
is the sentinel: its name, birth date, claim number and condition are distinctive so that a
test can prove none reach a log. Patient/wc-20 and wc-21 have names outside Latin-1 (Nguyễn,
Łukasz Wiśniewski): the PDFs must keep every letter. Each Coverage's period starts at the date
of injury (docs/fhir-mapping.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass

from .fhir_codes import (
    ACT_CODE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    SUBSCRIBER_RELATIONSHIP,
    Json,
    coding,
    text_concept,
    workers_comp_coverage_type,
)
from .seed_directory import EMPLOYERS, INSURERS
from .seed_records import record_resources

HEAVY_CHART_CONDITIONS = 320


@dataclass(frozen=True)
class Injury:
    """One injury Condition: text, body site, onset date, active or resolved."""

    text: str
    body_site: str
    onset: str
    active: bool = True


@dataclass(frozen=True)
class Worker:
    """A synthetic injured worker and their claim."""

    id: str
    given: str
    family: str
    gender: str
    birth_date: str
    claim: str
    employer: int
    insurer: int
    visit: str
    injuries: tuple[Injury, ...]
    heavy: int = HEAVY_CHART_CONDITIONS  # active Conditions when ``injuries`` is empty
    injury: str = ""  # date of injury (Coverage.period.start); default: the earliest onset

    @property
    def injury_date(self) -> str:
        """The claim's date of injury."""
        return self.injury or min(injury.onset for injury in self.injuries)


WORKERS = (
    Worker("wc-1", "Dana", "Whitfield", "female", "1984-03-12", "WC-2026-001234", 0, 0,
           "2026-02-10", (Injury("Strain of lower back muscle", "Lower back", "2025-11-03"),
                          Injury("Lumbar radiculopathy, left leg", "Lumbar spine", "2025-11-20"))),
    Worker("wc-2", "Marcus", "Oyelaran", "male", "1976-09-28", "WC-2026-001871", 1, 1,
           "2026-01-22", (Injury("Strain of right rotator cuff", "Right shoulder", "2025-09-15"),
                          Injury("Impingement syndrome of right shoulder", "Right shoulder",
                                 "2025-10-01"),
                          Injury("Contusion of right elbow", "Right elbow", "2025-09-15",
                                 active=False))),
    Worker("wc-3", "Priya", "Ramaswamy", "female", "1991-06-04", "WC-2026-002045", 2, 0,
           "2026-02-02", (Injury("Carpal tunnel syndrome, right wrist", "Right wrist",
                                 "2025-07-08"),)),
    Worker("wc-4", "Tomás", "Echeverría", "male", "1988-12-19", "WC-2026-002310", 0, 1,
           "2026-02-17", (Injury("Sprain of anterior cruciate ligament, left knee", "Left knee",
                                 "2025-12-01"),
                          Injury("Tear of medial meniscus, left knee", "Left knee", "2025-12-01"),
                          Injury("Laceration of left hand", "Left hand", "2025-12-01",
                                 active=False),
                          Injury("Post-traumatic headache", "Head", "2025-12-01"))),
    Worker("wc-5", "Evelyn", "Marsh", "female", "1969-02-27", "WC-2026-002588", 1, 0,
           "2026-01-30", (Injury("Strain of neck muscles (cervical strain)", "Neck", "2025-10-12"),
                          Injury("Concussion without loss of consciousness", "Head", "2025-10-12",
                                 active=False))),
    Worker("wc-6", "Harold", "Breckenridge", "male", "1962-08-08", "WC-2026-000977", 2, 1,
           "2026-02-20", (), injury="2021-06-01"),
    Worker("wc-7", "Imogen", "Castellanos", "female", "1979-04-21", "WC-2026-003120", 0, 0,
           "2026-02-24", (), heavy=200, injury="2018-09-01"),
    Worker("wc-8", "Bartholomew", "Nakagawa-Pryce", "male", "1958-11-30", "WC-2026-003377", 1, 1,
           "2026-02-26", (Injury("Chronic pain of lower back", "Lower back", "2024-05-02"),)),
    Worker("wc-9", "Sentinelle", "Quillfeatherby", "female", "1947-07-13", "WC-SENTINEL-7731", 2, 0,
           "2026-02-27",
           (Injury("Sentinel tendinopathy of left thumb", "Left thumb", "2025-08-19"),)),
    # wc-10 onwards are kept for other seeded cases; these two need a Unicode font in the PDFs
    Worker("wc-20", "Thị Ngọc Ánh", "Nguyễn", "female", "1986-05-09", "WC-2026-004102", 2, 1,
           "2026-02-18",
           (Injury("Tendinopathy of right wrist extensors", "Right wrist", "2025-10-06"),
            Injury("Lateral epicondylitis, right elbow", "Right elbow", "2025-10-20"))),
    Worker("wc-21", "Łukasz", "Wiśniewski", "male", "1973-01-15", "WC-2026-004217", 0, 1,
           "2026-02-25", (Injury("Strain of left hamstring", "Left thigh", "2025-12-11"),)),
)
SENTINELS = ("Sentinelle", "Quillfeatherby", "1947-07-13", "WC-SENTINEL-7731", "MRN-WC-9",
             "Sentinel tendinopathy")
HEAVY_CHART_TEXTS = (
    ("Chronic pain of lower back", "Lower back"),
    ("Stiffness of right shoulder", "Right shoulder"),
    ("Numbness of left hand", "Left hand"),
    ("Pain in right knee", "Right knee"),
)


def patient_resources(namespace: str) -> list[Json]:
    """Every patient-compartment resource for the EHR server."""
    out: list[Json] = []
    for worker in WORKERS:
        out += worker_resources(worker, namespace)
    return out


def worker_resources(worker: Worker, namespace: str) -> list[Json]:
    """One worker's Patient, latest Encounter, Coverage, Conditions and records."""
    out = [_patient(worker, namespace), _encounter(worker), _coverage(worker, namespace)]
    injuries = worker.injuries or _heavy_chart(worker.heavy)
    width = len(str(len(injuries))) if len(injuries) > 99 else 1
    out += [_condition(worker, n, inj, width) for n, inj in enumerate(injuries, start=1)]
    if worker.injuries:
        out += record_resources(worker)
    return out


def _heavy_chart(size: int) -> tuple[Injury, ...]:
    """``size`` active Conditions, to measure and test charts larger than a page."""
    out = []
    for n in range(size):
        text, site = HEAVY_CHART_TEXTS[n % len(HEAVY_CHART_TEXTS)]
        month = 1 + n % 12
        out.append(Injury(f"{text} (episode {n + 1})", site, f"{2014 + n // 40}-{month:02d}-15"))
    return tuple(out)


def _patient(worker: Worker, namespace: str) -> Json:
    """Patient with an MRN."""
    return {
        "resourceType": "Patient",
        "id": worker.id,
        "active": True,
        "identifier": [{"system": f"{namespace}/sid/sandbox-mrn",
                        "type": text_concept("Medical record number"),
                        "value": f"MRN-{worker.id.upper()}"}],
        "name": [{"use": "official", "family": worker.family, "given": [worker.given]}],
        "gender": worker.gender,
        "birthDate": worker.birth_date,
        "address": [{"city": "Aurora", "state": "CO", "country": "US"}],
    }


def _condition(worker: Worker, n: int, injury: Injury, width: int) -> Json:
    """An injury Condition (text-only code: no ICD-10-CM code was verified)."""
    status = "active" if injury.active else "resolved"
    cond: Json = {
        "resourceType": "Condition",
        "id": f"{worker.id}-cond-{n:0{width}d}",
        "clinicalStatus": {"coding": [coding(CONDITION_CLINICAL, status, status.title())]},
        "verificationStatus": {"coding": [coding(CONDITION_VERIFICATION, "confirmed",
                                                 "Confirmed")]},
        "category": [{"coding": [coding(CONDITION_CATEGORY, "encounter-diagnosis",
                                        "Encounter Diagnosis")]}],
        "code": text_concept(injury.text),
        "bodySite": [text_concept(injury.body_site)],
        "subject": {"reference": f"Patient/{worker.id}"},
        "onsetDateTime": injury.onset,
        "recordedDate": injury.onset,
    }
    if not injury.active:
        cond["abatementDateTime"] = worker.visit
    return cond


def _encounter(worker: Worker) -> Json:
    """The patient's latest ambulatory visit with the ATP."""
    return {
        "resourceType": "Encounter",
        "id": f"{worker.id}-enc-1",
        "status": "finished",
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "subject": {"reference": f"Patient/{worker.id}"},
        "participant": [{"individual": {"reference": "Practitioner/atp-1",
                                        "display": "Dr. Morgan Avery, MD"}}],
        "period": {"start": f"{worker.visit}T09:00:00-07:00",
                   "end": f"{worker.visit}T09:40:00-07:00"},
        "serviceProvider": {"reference": "Organization/org-atp",
                            "display": "Front Range Occupational Health"},
    }


def _coverage(worker: Worker, namespace: str) -> Json:
    """Workers' compensation Coverage exactly as docs/fhir-mapping.md §5 describes."""
    employer_id, employer = EMPLOYERS[worker.employer]
    insurer_id, insurer = INSURERS[worker.insurer]
    return {
        "resourceType": "Coverage",
        "id": f"{worker.id}-cov-1",
        "status": "active",
        "identifier": [{"system": f"{namespace}/sid/wc-claim", "value": worker.claim,
                        "type": text_concept("Workers' compensation claim number")}],
        "type": workers_comp_coverage_type(),
        "period": {"start": worker.injury_date},
        "policyHolder": {"reference": f"Organization/{employer_id}", "display": employer},
        "subscriberId": worker.claim,
        "beneficiary": {"reference": f"Patient/{worker.id}"},
        "relationship": {"coding": [coding(SUBSCRIBER_RELATIONSHIP, "injured", "Injured Party")]},
        "payor": [{"reference": f"Organization/{insurer_id}", "display": insurer}],
    }
