"""The US Core ServiceRequest profile check every test-produced ServiceRequest goes through.

The element rules come from tests/data/us-core-servicerequest.json, which names its source
(US Core 8.0.1); "must support" elements must be populated whenever the referral has the data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

RULES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "us-core-servicerequest.json").read_text()
)


def us_core_problems(resource: Mapping[str, Any], absent: Set[str] = frozenset()) -> list[str]:
    """Every rule the ServiceRequest breaks; ``absent`` names must-support elements with no data.

    A medical record review has no visit, so no requested window: its occurrencePeriod has no data.
    """
    if any(c.endswith("/referral-modality|record-review") for c in _codings(resource.get("orderDetail"))):
        absent = {*absent, "occurrencePeriod"}
    problems = [f"{name} is required" for name in RULES["required"] if not _has(resource, name)]
    problems += [
        f"{name} is must-support and the data exists"
        for name in RULES["mustSupport"]
        if name not in absent and not any(_has(resource, alt) for alt in name.split("|"))
    ]
    for element, codes in RULES["requiredCodes"].items():
        if resource.get(element) not in codes:
            problems.append(f"{element} {resource.get(element)!r} is not in its required value set")
    slice_codes = set(RULES["requiredSlices"]["category"]["codes"])
    if not _codings(resource.get("category")) & slice_codes:
        problems.append("category has no coding in the us-core slice's value set")
    systems = set(RULES["extensibleBindings"]["code"]["systems"])
    if not {c.split("|")[0] for c in _codings(resource.get("code"))} & systems:
        problems.append("code has no coding from us-core-procedure-code (extensible)")
    subject = str((resource.get("subject") or {}).get("reference", ""))
    if subject.split("/")[0] not in RULES["mustSupportTargets"]["subject"]:
        problems.append("subject must reference a Patient")
    return problems


def _has(resource: Mapping[str, Any], path: str) -> bool:
    value: Any = resource
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value not in (None, "", [], {})


def _codings(element: Any) -> set[str]:
    items = element if isinstance(element, list) else [element]
    return {
        f"{coding.get('system')}|{coding.get('code')}"
        for item in items
        if isinstance(item, Mapping)
        for coding in item.get("coding") or []
        if isinstance(coding, Mapping)
    }
