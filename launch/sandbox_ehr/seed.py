"""Idempotent seeding: every start PUTs the fixed-id resources unless the store already
holds exactly this content (a digest kept in sekmet's key-value table).
"""

from __future__ import annotations

import hashlib
import json
import logging

from sekmet.context import AppContext

from .config import SandboxSettings
from .fhir_codes import Json
from .seed_cases import case_resources, clinic_today
from .seed_directory import clinic_resources, directory_resources
from .seed_patients import patient_resources

logger = logging.getLogger(__name__)
MARKER_KEY = "sandbox_seed_digest"


def seed_ehr(ctx: AppContext, settings: SandboxSettings) -> int:
    """Seed the EHR: directory and patients; returns how many resources were written."""
    resources = directory_resources(
        settings.namespace, settings.fhir_base, settings.clinic_fhir_base
    ) + patient_resources(settings.namespace) + case_resources(settings.namespace, clinic_today())
    return _apply(ctx, resources, "ehr")


def seed_clinic(ctx: AppContext, settings: SandboxSettings) -> int:
    """Seed the receiving clinic with its organizations and physicians."""
    return _apply(ctx, clinic_resources(settings.namespace, settings.clinic_fhir_base), "clinic")


def _apply(ctx: AppContext, resources: list[Json], name: str) -> int:
    """PUT all resources in one store transaction, skipped when the digest matches."""
    digest = hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()
    store = ctx.store
    if store.kv_get(MARKER_KEY) == digest:
        logger.info("seed.skipped server=%s", name)
        return 0
    with store.transaction():
        for resource in resources:
            store.update(resource, origin="internal")
        store.kv_set(MARKER_KEY, digest)
    logger.info("seed.applied server=%s count=%d", name, len(resources))
    return len(resources)
