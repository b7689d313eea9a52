"""What the granted scopes let Second Opinion do, in capability names the views and pages use.

The EHR may grant less than the app asked for (scopes-and-launch-context.html:
"the app SHOULD inspect the granted scopes"). Both v1 (``.read``/``.write``)
and v2 (``.cruds``) forms are understood by ``smart.scopes.permits``; an empty
``scope`` in the token response means "as requested" (RFC 6749 §5.1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from smart_app.smart.scopes import permits


@dataclass(frozen=True)
class Capability:
    """One thing the app does, the scope it needs, and what a person is told without it."""

    name: str
    resource_type: str
    permissions: str  # v2 letters the capability needs
    missing: str  # plain words: what the ATP cannot do, and what follows


CAPABILITIES = (
    Capability("patient", "Patient", "r",
               "The EHR did not let Second Opinion read this patient's record (Patient)."),
    Capability("directory", "PractitionerRole", "s",
               "The EHR did not let Second Opinion read the physician directory (PractitionerRole)."),
    Capability("conditions", "Condition", "s",
               "The EHR did not let Second Opinion read this patient's conditions, so none can be "
               "chosen as the reason for referral. Name the work-related conditions in your questions."),
    Capability("coverage", "Coverage", "s",
               "The EHR did not let Second Opinion read this patient's coverage, so the workers' "
               "compensation claim is not shown. Check the claim in the EHR."),
    Capability("documents", "DocumentReference", "s",
               "The EHR did not let Second Opinion read this patient's documents (DocumentReference), "
               "so none can be shared for a record review. Send them to the clinic another way."),
    Capability("reports", "DiagnosticReport", "s",
               "The EHR did not let Second Opinion read this patient's reports (DiagnosticReport), "
               "so none can be shared for a record review. Send them to the clinic another way."),
    Capability("send", "ServiceRequest", "c",
               "The EHR did not give Second Opinion permission to create referrals (ServiceRequest) "
               "for this patient, so a referral cannot be sent from here. Ask your EHR administrator "
               "for that permission, then launch Second Opinion again."),
    Capability("provenance", "Provenance", "c",
               "The EHR did not let Second Opinion record that Second Opinion wrote the referral on "
               "your behalf (Provenance). The referral is sent without that record."),
    Capability("confirm", "ServiceRequest", "s",
               "The EHR did not let Second Opinion read referrals back (ServiceRequest), so the "
               "confirmation cannot show what the EHR holds."),
)
# The answering physician's launch (at the receiving clinic's EHR).
PHYSICIAN_CAPABILITIES = (
    Capability("tasks", "Task", "rs",
               "The EHR did not let Second Opinion read your referrals (Task)."),
    Capability("task-update", "Task", "u",
               "The EHR did not let Second Opinion update referrals (Task), so you cannot accept, "
               "decline or answer them from here."),
    Capability("referral-read", "ServiceRequest", "r",
               "The EHR did not let Second Opinion read the referrals' requests (ServiceRequest)."),
    Capability("patient-read", "Patient", "r",
               "The EHR did not let Second Opinion read the referred patients (Patient)."),
    Capability("letter", "DocumentReference", "c",
               "The EHR did not let Second Opinion store your signed opinion letter (DocumentReference), "
               "so an opinion cannot be signed from here."),
    Capability("records", "DocumentReference", "r",
               "The EHR did not let Second Opinion read the records shared for review (DocumentReference)."),
    Capability("signature", "Provenance", "c",
               "The EHR did not let Second Opinion record your signature (Provenance). "
               "A signed opinion is sent without that record."),
    Capability("roles", "PractitionerRole", "s",
               "The EHR did not let Second Opinion read your roles (PractitionerRole), so it cannot tell "
               "which referrals are yours."),
)
BY_NAME = {c.name: c for c in (*CAPABILITIES, *PHYSICIAN_CAPABILITIES)}
ESSENTIAL = ("patient", "directory")  # without these there is no form to show
PHYSICIAN_ESSENTIAL = ("tasks", "referral-read", "patient-read", "roles")  # without these, no worklist


@functools.lru_cache(maxsize=256)  # pure; a page asks several times, launches share a few scopes
def granted_capabilities(granted_scope: str, role: str = "atp") -> frozenset[str]:
    """The names of the capabilities of ``role`` (atp or physician) the granted scope allows."""
    every = PHYSICIAN_CAPABILITIES if role == "physician" else CAPABILITIES
    return frozenset(c.name for c in every if permits(granted_scope, c.resource_type, c.permissions))


def missing_notices(granted: frozenset[str], names: tuple[str, ...]) -> list[str]:
    """Plain-words notices for the capabilities among ``names`` that were not granted."""
    return [BY_NAME[name].missing for name in names if name not in granted]
