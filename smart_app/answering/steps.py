"""The physician's steps on a referral Task at their clinic: received, accept, decline, start, hold.

Each step reads the Task as the clinic holds it now, checks it is this physician's, applies the
pure step of ``fhir_mappings/task_workflow.py`` and writes it back with ``If-Match`` on the version
read (https://hl7.org/fhir/R4/http.html#concurrency), so a step never overwrites what someone else
did meanwhile: that is a plain "the referral changed" (409) and nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fhir_mappings.errors import MappingError
from fhir_mappings.incoming import AnsweringPhysician
from fhir_mappings.task_workflow import TransitionRefused
from smart_app.answering.referral import owned_task
from smart_app.chart.fhir_client import FhirClient, VersionConflict
from smart_app.errors import EhrError, ReferralChanged

logger = logging.getLogger(__name__)
Step = Callable[[dict[str, Any]], dict[str, Any]]

STATUS_WORDS = {"completed": "already signed", "rejected": "declined", "cancelled": "cancelled by the "
                "referring physician", "on-hold": "waiting for records", "accepted": "already accepted",
                "in-progress": "being answered"}  # fmt: skip


def take_step(
    client: FhirClient, physician: AnsweringPhysician, task_id: str, ns: str, step: Step, name: str
) -> dict[str, Any]:
    """Apply ``step`` to the Task as it is now and write it back; the Task as written."""
    task = owned_task(client, physician, task_id, ns)
    try:
        moved = step(task)
    except TransitionRefused as refused:
        raise changed(refused.status) from refused
    except MappingError as error:
        raise EhrError("The referral could not be updated as FHIR R4.") from error
    version = str((task.get("meta") or {}).get("versionId") or "") or None
    try:
        written = client.update(moved, if_match=version)
    except VersionConflict as conflict:
        raise ReferralChanged(
            "Someone changed this referral while you were looking at it; nothing was sent.",
            "Reload the page to see it as it is now; what you typed is kept.",
        ) from conflict
    logger.info("answering.step task=%s step=%s", task_id, name)
    return written


def changed(status: str) -> ReferralChanged:
    """The plain words for a referral that is no longer where this step starts."""
    words = STATUS_WORDS.get(status, status)
    return ReferralChanged(f"This referral is {words}, so that cannot be done now; nothing was sent.",
                           "Reload the page to see it as it is now.")  # fmt: skip
