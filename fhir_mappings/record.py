"""Chart records shared for a record review: https://hl7.org/fhir/R4/documentreference.html and
https://hl7.org/fhir/R4/diagnosticreport.html, read liberally and kept only when they are the patient's.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from fhir_mappings.codeable_concept import text_from_codeable_concept
from fhir_mappings.domain import RecordSummary
from fhir_mappings.element import mapping_from_element, mappings_from_element, string_from_element
from fhir_mappings.errors import MappingError, ReferralRuleError
from fhir_mappings.reference import reference_from_reference, reference_from_resource

UNTITLED_RECORD = "Untitled document"
_UNSHAREABLE_STATUS = frozenset({"entered-in-error", "superseded", "cancelled"})
_STATUS_WORDS = {"entered-in-error": "entered in error", "superseded": "superseded", "cancelled": "cancelled"}
UNTICK = "Untick it (reload the page to see the chart as it is now); nothing was sent."


def records_from_resources(
    resources: Sequence[Mapping[str, Any]], patient_reference: str
) -> list[RecordSummary]:
    """The patient's shareable records, newest first; others' and withdrawn ones are left out."""
    records = [
        record
        for resource in resources
        if _belongs_to(resource, patient_reference)
        and resource.get("status") not in _UNSHAREABLE_STATUS
        and (record := record_summary_from_resource(resource)) is not None
    ]
    return sorted(records, key=lambda record: record.date or "", reverse=True)


def record_summary_from_resource(resource: Mapping[str, Any]) -> RecordSummary | None:
    """A DocumentReference or DiagnosticReport as the picker lists it; None for other types."""
    kind = resource.get("resourceType")
    try:
        reference = reference_from_resource(resource)
    except MappingError:
        return None
    if kind == "DocumentReference":
        return RecordSummary(reference, "DocumentReference", _document_title(resource),
                             string_from_element(resource.get("date")))
    if kind == "DiagnosticReport":
        title = text_from_codeable_concept(resource.get("code")) or UNTITLED_RECORD
        date = string_from_element(resource.get("effectiveDateTime")) or string_from_element(
            resource.get("issued")
        )
        return RecordSummary(reference, "DiagnosticReport", title, date)
    return None


def checked_record_from_resource(
    resource: Mapping[str, Any], record: RecordSummary, patient_reference: str
) -> dict[str, Any]:
    """The record as read at send time, if it is still the one chosen and may be shared.

    ReferralRuleError in plain words otherwise: a record of another patient, or one the EHR
    has withdrawn (status or docStatus entered-in-error, superseded, cancelled:
    https://hl7.org/fhir/R4/valueset-document-reference-status.html,
    https://hl7.org/fhir/R4/valueset-diagnostic-report-status.html).
    """
    try:
        same = reference_from_resource(resource) == record.reference
    except MappingError:
        same = False
    if not same or resource.get("resourceType") != record.kind:
        raise ReferralRuleError(f"The EHR answered with something other than “{record.title}”. {UNTICK}")
    if not _belongs_to(resource, patient_reference):
        raise ReferralRuleError(
            f"“{record.title}” is not in this patient's chart any more, so it cannot be shared "
            f"with this referral. {UNTICK}"
        )
    for status in (resource.get("status"), resource.get("docStatus")):
        if isinstance(status, str) and status in _UNSHAREABLE_STATUS:
            raise ReferralRuleError(
                f"“{record.title}” was marked {_STATUS_WORDS[status]} in the EHR, so it cannot be "
                f"shared. {UNTICK}"
            )
    return dict(resource)


def _document_title(resource: Mapping[str, Any]) -> str:
    """description, else type text, else the first attachment's title."""
    attachments = (
        mapping_from_element(content.get("attachment"))
        for content in mappings_from_element(resource.get("content"))
    )
    return (
        string_from_element(resource.get("description"))
        or text_from_codeable_concept(resource.get("type"))
        or next(filter(None, (string_from_element(a.get("title")) for a in attachments)), None)
        or UNTITLED_RECORD
    )


def _belongs_to(resource: Mapping[str, Any], patient_reference: str) -> bool:
    """subject names the launch patient (https://hl7.org/fhir/R4/compartmentdefinition-patient.html)."""
    return reference_from_reference(resource.get("subject")) == patient_reference
