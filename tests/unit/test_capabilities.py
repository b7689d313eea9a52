"""Granted scopes to capabilities, in v1 and v2 syntax (scopes-and-launch-context.html)."""

from __future__ import annotations

from smart_app.capabilities import ESSENTIAL, granted_capabilities, missing_notices


def test_v2_grant_names_each_capability() -> None:
    granted = granted_capabilities(
        "launch openid patient/Patient.rs patient/Condition.rs patient/ServiceRequest.crs "
        "user/PractitionerRole.rs"
    )
    assert granted == {"patient", "conditions", "send", "confirm", "directory"}


def test_v1_read_and_write_map_to_the_same_capabilities() -> None:
    granted = granted_capabilities(
        "patient/Patient.read patient/Coverage.read patient/ServiceRequest.write user/PractitionerRole.read"
    )
    assert granted == {"patient", "coverage", "send", "directory"}


def test_a_read_only_v2_scope_does_not_allow_search_or_create() -> None:
    assert granted_capabilities("patient/Condition.r patient/ServiceRequest.rs") == {"confirm"}


def test_wildcards_grant_everything() -> None:
    assert "coverage" in granted_capabilities("patient/*.cruds")
    assert missing_notices(granted_capabilities("user/*.read"), ESSENTIAL) == []


def test_missing_essentials_are_named_in_plain_words() -> None:
    notices = missing_notices(granted_capabilities("patient/Patient.rs"), ESSENTIAL)
    assert notices == ["The EHR did not let Second Opinion read the physician directory (PractitionerRole)."]
