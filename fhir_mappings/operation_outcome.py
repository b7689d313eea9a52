"""Errors as FHIR: https://hl7.org/fhir/R4/operationoutcome.html."""

from collections.abc import Mapping
from typing import Any

from fhir_mappings.codeable_concept import text_from_codeable_concept
from fhir_mappings.codes import ISSUE_SEVERITIES, ISSUE_TYPES
from fhir_mappings.element import mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError


def operation_outcome_from_issue(
    code: str, diagnostics: str, severity: str = "error"
) -> dict[str, Any]:
    """One issue (https://hl7.org/fhir/R4/operationoutcome-definitions.html#OperationOutcome.issue.code)."""
    if code not in ISSUE_TYPES:
        raise MappingError(f"not an R4 issue-type code: {code!r}")
    if severity not in ISSUE_SEVERITIES:
        raise MappingError(f"not an R4 issue-severity code: {severity!r}")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def diagnostics_from_operation_outcome(resource: Mapping[str, Any]) -> str | None:
    """Each issue's diagnostics (else details.text) joined with "; ", or None when there is none."""
    texts = [
        string_from_element(issue.get("diagnostics"))
        or text_from_codeable_concept(issue.get("details"))
        for issue in mappings_from_element(resource.get("issue"))
    ]
    joined = "; ".join(text for text in texts if text)
    return joined or None
