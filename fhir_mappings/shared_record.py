"""A chart record as the receiving clinic gets it: a copy that stands on its own.

The copy keeps what the second-opinion physician reads (type, dates, who wrote it, the
conclusion, the content inlined) and points every patient reference at the Bundle's
Patient entry. References the clinic could not resolve (encounter, authors, performers,
results, orders, related documents) keep only their display, or go when they have none: a
Reference may be display-only (https://hl7.org/fhir/R4/references.html#Reference).
``id`` and ``meta`` are the EHR's and are not sent (https://hl7.org/fhir/R4/http.html#create);
nor are ``text`` and ``contained``, which may restate or hold what was left out.
"""

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.documentreference import DocumentReference

from fhir_mappings.element import mapping_from_element, mappings_from_element, pruned_element
from fhir_mappings.errors import MappingError
from fhir_mappings.file_type import attachment_title

_COMMON = ("implicitRules", "language", "extension", "modifierExtension", "identifier", "status")
# https://hl7.org/fhir/R4/documentreference.html#resource (relatesTo names other documents)
DOCUMENT_ELEMENTS = (
    *_COMMON, "masterIdentifier", "docStatus", "type", "category", "date", "author",
    "authenticator", "custodian", "description", "securityLabel", "content",
)
# DocumentReference.context without encounter and related (https://hl7.org/fhir/R4/documentreference-definitions.html#DocumentReference.context)
CONTEXT_ELEMENTS = ("extension", "event", "period", "facilityType", "practiceSetting")
# https://hl7.org/fhir/R4/diagnosticreport.html#resource without basedOn, encounter, specimen,
# imagingStudy and media, which only name resources the clinic does not hold
REPORT_ELEMENTS = (
    *_COMMON, "category", "code", "effectiveDateTime", "effectivePeriod", "issued", "performer",
    "resultsInterpreter", "result", "conclusion", "conclusionCode", "presentedForm",
)


def shared_record_from_resource(
    resource: Mapping[str, Any], identifier: Mapping[str, str], patient_url: str
) -> dict[str, Any]:
    """The copy for the clinic: ``identifier`` first, the patient at ``patient_url``; R4B-validated."""
    kind = resource.get("resourceType")
    if kind == "DocumentReference":
        copy = _document(resource)
    elif kind == "DiagnosticReport":
        copy = _report(resource)
    else:
        raise MappingError(f"only DocumentReference and DiagnosticReport are shared, not {kind!r}")
    copy["identifier"] = [dict(identifier), *mappings_from_element(copy.get("identifier"))]
    copy["subject"] = {"reference": patient_url}
    if "sourcePatientInfo" in mapping_from_element(resource.get("context")):
        copy.setdefault("context", {})["sourcePatientInfo"] = {"reference": patient_url}
    return _validated({"resourceType": kind, **pruned_element(copy)})


def _document(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The document's elements, its context without encounter and related, attachments without url."""
    copy: dict[str, Any] = _display_only({key: resource[key] for key in DOCUMENT_ELEMENTS if key in resource})
    context = mapping_from_element(resource.get("context"))
    copy["context"] = _display_only({key: context[key] for key in CONTEXT_ELEMENTS if key in context})
    copy["content"] = [
        {**content, "attachment": _shared_attachment(content.get("attachment"))}
        for content in mappings_from_element(copy.get("content"))
    ]
    return copy


def _report(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The report's elements, its presented forms without url."""
    copy: dict[str, Any] = _display_only({key: resource[key] for key in REPORT_ELEMENTS if key in resource})
    forms = mappings_from_element(copy.get("presentedForm"))
    copy["presentedForm"] = [_shared_attachment(form) for form in forms]
    return copy


def _display_only(value: Any) -> Any:
    """Every Reference (anything with a ``reference``) as its display alone, or None without one."""
    if isinstance(value, Mapping):
        if isinstance(value.get("reference"), str):
            display = value.get("display")
            return {"display": display} if isinstance(display, str) and display.strip() else None
        return {key: _display_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_display_only(item) for item in value]
    return value


def _shared_attachment(attachment: Any) -> dict[str, Any]:
    """The attachment as inlined at send time, its title a clean file name (file_type.attachment_title).

    Its url points into the EHR and is not sent.
    """
    found = mapping_from_element(attachment)
    if "url" in found and "data" not in found:
        raise MappingError("an attachment is shared with its content inlined, never by url")
    copy = {key: item for key, item in found.items() if key not in ("url", "title")}
    title = attachment_title(found["title"]) if isinstance(found.get("title"), str) else None
    return {**copy, "title": title} if title else copy


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Strict output: the R4B model must accept the copy."""
    try:
        if resource["resourceType"] == "DocumentReference":
            DocumentReference.model_validate(resource)
        else:
            DiagnosticReport.model_validate(resource)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"the shared {resource['resourceType']} is not valid FHIR R4: {error}") from error
    return resource
