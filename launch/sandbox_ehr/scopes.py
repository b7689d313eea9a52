"""SMART clinical scopes, v1 (`patient/Condition.read`) and v2 (`patient/Condition.rs`).

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#clinical-scope-syntax
v2 granular query suffixes (`?category=…`) are parsed but not enforced: they grant the
whole resource type, which is broader than a real EHR would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE_RE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(\?.*)?")  # fullmatch
_V2_RE = re.compile(r"c?r?u?d?s?")


@dataclass(frozen=True)
class ClinicalScope:
    """One parsed clinical scope: context, resource type (or *), permission letters."""

    context: str
    resource: str
    permissions: str

    def allows(self, resource_type: str, permission: str) -> bool:
        """True when this scope grants `permission` (one of c r u d s) on the type."""
        return self.resource in ("*", resource_type) and permission in self.permissions


def parse_scope(text: str) -> ClinicalScope | None:
    """Parse one scope string; None for non-clinical or malformed scopes."""
    match = _SCOPE_RE.fullmatch(text)
    if not match:
        return None
    context, resource, perms, _query = match.groups()
    if perms in V1_PERMISSIONS:
        return ClinicalScope(context, resource, V1_PERMISSIONS[perms])
    if perms and _V2_RE.fullmatch(perms):
        return ClinicalScope(context, resource, perms)
    return None


def parse_scopes(scope: str) -> list[ClinicalScope]:
    """Parse a space-separated scope string, dropping non-clinical scopes."""
    parsed = (parse_scope(item) for item in scope.split())
    return [item for item in parsed if item is not None]


def granting_contexts(
    scopes: list[ClinicalScope], resource_type: str, permission: str
) -> set[str]:
    """The contexts (patient, user, system) of the scopes that grant this access."""
    return {s.context for s in scopes if s.allows(resource_type, permission)}


def is_grantable(text: str, contexts: tuple[str, ...] = ("patient", "user")) -> bool:
    """Whether an app signed in by a user may be granted this clinical scope (never system/)."""
    parsed = parse_scope(text)
    return parsed is not None and parsed.context in contexts and parsed.context != "system"


def covers(allowed: str, requested: str) -> bool:
    """Whether the allowed scope grants everything the requested one asks (`system/*.c`
    covers `system/Patient.c`; `system/Task.crus` covers `system/Task.rs`)."""
    have, want = parse_scope(allowed), parse_scope(requested)
    if have is None or want is None:
        return allowed == requested
    return (have.context == want.context and have.resource in ("*", want.resource)
            and set(want.permissions) <= set(have.permissions))
