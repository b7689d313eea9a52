"""SMART scopes: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html.

v1 (``patient/Condition.read``) and v2 (``patient/Condition.rs``) forms are
both understood, so the app can tell whether the EHR granted what it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_CLINICAL = re.compile(r"^(patient|user|system)/([A-Za-z*]+)\.([a-z*]+)(\?.*)?$")


@dataclass(frozen=True)
class ResourceScope:
    """One clinical scope: context, resource type and the permissions it grants."""

    context: str  # patient | user | system
    resource_type: str  # a FHIR type or *
    permissions: frozenset[str]  # subset of c r u d s


def parse_scope(scope: str) -> ResourceScope | None:
    """A clinical scope, or None for launch/openid/fhirUser/offline_access and the like."""
    match = _CLINICAL.match(scope)
    if match is None:
        return None
    context, resource_type, permission = match.group(1), match.group(2), match.group(3)
    granted = V1_PERMISSIONS.get(permission, permission)
    if any(p not in "cruds" for p in granted):
        return None
    return ResourceScope(context, resource_type, frozenset(granted))


def permits(granted: str, resource_type: str, permissions: str) -> bool:
    """True when some scope in the space-separated ``granted`` allows all ``permissions``."""
    for raw in granted.split():
        scope = parse_scope(raw)
        if (
            scope
            and scope.resource_type in ("*", resource_type)
            and set(permissions) <= scope.permissions
        ):
            return True
    return False
