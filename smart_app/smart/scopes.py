"""SMART scopes: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html.

v1 (``patient/Condition.read``) and v2 (``patient/Condition.rs``) forms are
both understood, so the app can tell whether the EHR granted what it needs.
Registrations write scopes in v2; ``scopes_for_style`` sends them as v1 to an
EHR that does not advertise ``permission-v2`` (conformance.html#capabilities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_CLINICAL = re.compile(r"(patient|user|system)/([A-Za-z*]+)\.([a-z*]+)(\?.*)?")
_V2_ORDER = re.compile(r"c?r?u?d?s?")

Style = Literal["v1", "v2"]


@dataclass(frozen=True)
class ResourceScope:
    """One clinical scope: context, resource type and the permissions it grants."""

    context: str  # patient | user | system
    resource_type: str  # a FHIR type or *
    permissions: frozenset[str]  # subset of c r u d s
    style: Style = "v2"


def parse_scope(scope: str) -> ResourceScope | None:
    """A clinical scope, or None for launch/openid/fhirUser/offline_access and the like."""
    match = _CLINICAL.fullmatch(scope)
    if match is None:
        return None
    context, resource_type, permission = match.group(1), match.group(2), match.group(3)
    if permission in V1_PERMISSIONS:
        return ResourceScope(context, resource_type, frozenset(V1_PERMISSIONS[permission]), "v1")
    if not _V2_ORDER.fullmatch(permission):
        return None  # v2 letters come in the order c r u d s
    return ResourceScope(context, resource_type, frozenset(permission), "v2")


def style_for(capabilities: frozenset[str], forced: Literal["auto", "v1", "v2"]) -> Style:
    """v2 where the EHR advertises ``permission-v2`` (or the registration says so), else v1."""
    if forced != "auto":
        return forced
    return "v2" if "permission-v2" in capabilities else "v1"


def scopes_for_style(scope: str, style: Style) -> str:
    """The requested scope string in the EHR's syntax (v2 ``.crs`` → v1 ``.read .write``)."""
    if style == "v2":
        return scope
    out: list[str] = []
    for raw in scope.split():
        parsed = parse_scope(raw)
        if parsed is None or parsed.style == "v1":
            out.append(raw)
            continue
        prefix = f"{parsed.context}/{parsed.resource_type}"
        if parsed.permissions & set("rs"):
            out.append(f"{prefix}.read")
        if parsed.permissions & set("cud"):
            out.append(f"{prefix}.write")
    return " ".join(dict.fromkeys(out))


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
