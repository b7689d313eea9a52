"""Grow a sandbox patient's chart to a given size through the EHR's own API (a transaction of PUTs)."""

from __future__ import annotations

from typing import Any

from tests.sandbox_server import Sandbox

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
TEXTS = ("Chronic pain of lower back", "Stiffness of right shoulder", "Numbness of left hand")


def grow_chart(sandbox: Sandbox, patient: str, active_conditions: int) -> None:
    """Make sure ``patient`` has at least this many active Conditions (fixed ids: idempotent)."""
    entries = [_entry(patient, n) for n in range(active_conditions)]
    admin = sandbox.admin_session()
    for start in range(0, len(entries), 1000):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries[start:start + 1000]}
        answer = admin.post(sandbox.fhir_base, json=bundle, timeout=120)
        answer.raise_for_status()


def _entry(patient: str, n: int) -> dict[str, Any]:
    condition_id = f"{patient}-bulk-{n:05d}"
    return {
        "resource": {
            "resourceType": "Condition",
            "id": condition_id,
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active", "display": "Active"}]},
            "code": {"text": f"{TEXTS[n % len(TEXTS)]} (episode {n + 1})"},
            "subject": {"reference": f"Patient/{patient}"},
            "onsetDateTime": f"{2014 + n % 12}-{1 + n % 12:02d}-15",
        },
        "request": {"method": "PUT", "url": f"Condition/{condition_id}"},
    }
