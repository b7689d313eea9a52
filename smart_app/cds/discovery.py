"""The services this app offers and what each needs prefetched: https://cds-hooks.hl7.org/2.0/#discovery.

Prefetch templates keep to the query subset CDS Hooks 2.0 recommends (§Prefetch query
restrictions): reads, type searches by patient, token equality, ``_count`` and ``_sort``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fhir_mappings.codes import (
    FUNCTION_SCORE,
    MMI_REACHED,
    SECOND_OPINION_CODE,
    SECOND_OPINION_SYSTEM_ID,
    WORK_INJURY_PROGRESS_SYSTEM_ID,
    WORK_RESTRICTIONS,
    local_system,
)

Hook = Literal["patient-view", "order-select"]
PATIENT = "{{context.patientId}}"
ENCOUNTER_COUNT = 100  # the latest visits; those before the injury are not counted


@dataclass(frozen=True)
class CdsService:
    """One CDS Service of the discovery document."""

    id: str
    hook: Hook
    title: str
    description: str


PATIENT_VIEW = CdsService(
    "second-opinion-stuck-case",
    "patient-view",
    "Is this workers' comp case stuck?",
    "Suggests a second opinion when a workers' compensation case shows no progress toward maximum "
    "medical improvement (MMI): no MMI long after the injury, the same work restrictions for weeks, "
    "or no functional gain across visits. Never when MMI is recorded, a second opinion is open or "
    "was answered recently, or there is no workers' compensation coverage.",
)
ORDER_SELECT = CdsService(
    "second-opinion-instead-of-ime",
    "order-select",
    "A second opinion rather than an IME?",
    "When a selected draft order asks for an IME or a DIME, explains how it differs from a second "
    "opinion the treating provider asks for, and offers one instead.",
)
SERVICES = {service.id: service for service in (PATIENT_VIEW, ORDER_SELECT)}


def prefetch_templates(ns: str, service: CdsService) -> dict[str, str]:
    """Prefetch key → FHIR query, with ``{{context.patientId}}`` as the only token."""
    progress = local_system(ns, WORK_INJURY_PROGRESS_SYSTEM_ID)
    opinion = local_system(ns, SECOND_OPINION_SYSTEM_ID)
    templates = {
        "conditions": f"Condition?patient={PATIENT}&clinical-status=active",
        "coverage": f"Coverage?patient={PATIENT}",
        "mmi": f"Observation?patient={PATIENT}&code={progress}|{MMI_REACHED[0]}",
        "secondOpinions": f"ServiceRequest?patient={PATIENT}&code={opinion}|{SECOND_OPINION_CODE}",
    }
    if service.hook == "patient-view":
        templates |= {
            "encounters": f"Encounter?patient={PATIENT}&_sort=-date&_count={ENCOUNTER_COUNT}",
            "functionScores": f"Observation?patient={PATIENT}&code={progress}|{FUNCTION_SCORE[0]}",
            "workRestrictions": f"Observation?patient={PATIENT}&code={progress}|{WORK_RESTRICTIONS[0]}",
        }
    return templates


def discovery_document(ns: str) -> dict[str, Any]:
    """The answer to ``GET {base}/cds-services``."""
    return {
        "services": [
            {
                "hook": s.hook,
                "title": s.title,
                "description": s.description,
                "id": s.id,
                "prefetch": prefetch_templates(ns, s),
            }
            for s in SERVICES.values()
        ]
    }


def query_for_patient(template: str, patient_id: str) -> str:
    """The template with the patient's id in place of its token (ids are FHIR ids: nothing to escape)."""
    return template.replace(PATIENT, patient_id)
