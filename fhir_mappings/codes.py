"""Every code system URI and code Second Opinion emits or recognises.

Each entry cites its section of docs/fhir-mapping.md, which names the source of every code.
Never add a code here that docs/fhir-mapping.md does not list with its source.
"""

from dataclasses import dataclass

from fhir_mappings.domain import Accreditation, DeclineReason, MmiStatus, Modality, WorkRelatedness


@dataclass(frozen=True)
class Code:
    """One concept of a code system, rendered as a Coding: https://hl7.org/fhir/R4/datatypes.html#Coding."""

    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        """The Coding element for this concept."""
        return {"system": self.system, "code": self.code, "display": self.display}


def local_system(ns: str, name: str) -> str:
    """A CodeSystem we own, `{ns}/CodeSystem/<id>` (docs/fhir-mapping.md, "Namespaces")."""
    return f"{ns.rstrip('/')}/CodeSystem/{name}"


def identifier_system(ns: str, name: str) -> str:
    """An identifier namespace we own, `{ns}/sid/<id>` (docs/fhir-mapping.md, "Namespaces")."""
    return f"{ns.rstrip('/')}/sid/{name}"


# External code systems.
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
NUCC = "http://nucc.org/provider-taxonomy"
SOPT = "https://nahdo.org/sopt"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0336 = "http://terminology.hl7.org/CodeSystem/v2-0336"
V2_0360 = "http://terminology.hl7.org/CodeSystem/v2-0360"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"

# §2 ServiceRequest: referral, second opinion, specialty.
PATIENT_REFERRAL = Code(SNOMED, "3457005", "Patient referral")
EVALUATION_PROCEDURE = Code(SNOMED, "386053000", "Evaluation procedure (procedure)")
SECOND_OPINION_CATEGORY = Code(V2_0336, "S", "Second Opinion")
PLACER_IDENTIFIER = Code(V2_0203, "PLAC", "Placer Identifier")
OCCUPATIONAL_MEDICINE_PHYSICIAN = Code(NUCC, "2083X0100X", "Occupational Medicine Physician")
PREVENTIVE_OCCUPATIONAL_PHYSICIAN = Code(
    NUCC, "2083P0500X", "Preventive Medicine/Occupational Environmental Medicine Physician"
)
OCCUPATIONAL_MEDICINE_SPECIALTY = Code(SNOMED, "394821009", "Occupational medicine")
OCCUPATIONAL_MEDICINE_SERVICE = Code(SERVICE_TYPE, "178", "Occupational Medicine")
CONSULT_NOTE = Code(LOINC, "11488-4", "Consult note")
CLINICAL_NOTE = Code(
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
    "clinical-note",
    "Clinical Note",
)
# Recognised, never emitted: which (system, code) pairs mark an occupational medicine specialty.
OCCUPATIONAL_MEDICINE_CODES: frozenset[tuple[str, str]] = frozenset(
    (c.system, c.code)
    for c in (
        OCCUPATIONAL_MEDICINE_PHYSICIAN,
        PREVENTIVE_OCCUPATIONAL_PHYSICIAN,
        OCCUPATIONAL_MEDICINE_SPECIALTY,
    )
)
# Recognised, never emitted: v2-0203 MR marks the medical record number (read from EHR Patients).
MEDICAL_RECORD_NUMBER_TYPE = "MR"

# §2 local: {ns}/CodeSystem/second-opinion.
SECOND_OPINION_SYSTEM_ID = "second-opinion"
SECOND_OPINION_CODE = "second-opinion"
SECOND_OPINION_DISPLAY = "Second opinion (opinion only)"
OPINION_ONLY_CODE = "opinion-only"
OPINION_ONLY_DISPLAY = "Opinion only: no transfer of care, no co-management"
REFERRAL_IDENTIFIER_ID = "referral"  # {ns}/sid/referral, SR/Task identifier (type PLAC)

SCOPE_STATEMENT = (
    "You are asked to answer the questions below by rendering an opinion only. "
    "You are not asked to assume care or to co-manage this case."
)

# §3 Modality: {ns}/CodeSystem/referral-modality + v3-ActCode translation.
MODALITY_SYSTEM_ID = "referral-modality"
MODALITY_DISPLAY: dict[Modality, str] = {
    "in-person": "In person",
    "telehealth": "Telehealth",
    "record-review": "Medical record review",
}
AMBULATORY = Code(V3_ACT_CODE, "AMB", "ambulatory")
VIRTUAL = Code(V3_ACT_CODE, "VR", "virtual")
# No standard code for a medical record review was found (docs/fhir-mapping.md §3).
MODALITY_TRANSLATION: dict[Modality, Code] = {"in-person": AMBULATORY, "telehealth": VIRTUAL}
OUTPATIENT_FACILITY = Code(V3_ROLE_CODE, "OF", "Outpatient facility")  # SR.locationCode, in person

# §8 Directory: NDH delivery method on HealthcareService (visit types a physician offers).
NDH_DELIVERY_METHOD = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-delivery-method"
NDH_DELIVERY_METHOD_TYPE = "deliveryMethodtype"  # the sub-extension holding the code
NDH_DELIVERY_METHOD_CS = "http://hl7.org/fhir/us/ndh/CodeSystem/DeliveryMethodCS"
DELIVERY_METHOD_MODALITY: dict[str, Modality] = {"physical": "in-person", "virtual": "telehealth"}

# §4 Task.
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"  # the R4 URI, as R4 servers expect
FULFILL = Code(TASK_CODE, "fulfill", "Fulfill the focal request")
TASK_STATUS = "http://hl7.org/fhir/task-status"
TASK_STATUS_DISPLAY: dict[str, str] = {
    "requested": "Requested",
    "received": "Received",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "in-progress": "In Progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "on-hold": "On Hold",
}
REQUEST_INTENT = "http://hl7.org/fhir/request-intent"
ORDER_INTENT = "order"
BSER_TASK_BUSINESS_STATUS = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
BSER_TASK_BUSINESS_STATUS_DISPLAY: dict[str, str] = {
    "2.0": "Service Request Created",
    "3.0": "Service Request Accepted",
    "4.0": "Service Request Declined",
    "5.1.1": "Service Request Event Scheduled",
    "5.2": "Service Request Cancellation Requested",
    "6.0": "Service Request Fulfillment Cancelled",
    "7.0": "Service Request Fulfillment Completed",
}
BSER_CREATED = Code(BSER_TASK_BUSINESS_STATUS, "2.0", "Service Request Created")
BSER_ACCEPTED = Code(BSER_TASK_BUSINESS_STATUS, "3.0", "Service Request Accepted")
BSER_DECLINED = Code(BSER_TASK_BUSINESS_STATUS, "4.0", "Service Request Declined")
BSER_SCHEDULED = Code(BSER_TASK_BUSINESS_STATUS, "5.1.1", "Service Request Event Scheduled")
BSER_CANCELLED = Code(BSER_TASK_BUSINESS_STATUS, "6.0", "Service Request Fulfillment Cancelled")
BSER_COMPLETED = Code(BSER_TASK_BUSINESS_STATUS, "7.0", "Service Request Fulfillment Completed")
REFERRAL_MESSAGE_EVENT = Code(
    "http://terminology.hl7.org/CodeSystem/v2-0003", "I12", "REF/RRI - Patient referral"
)
TASK_IO_SYSTEM_ID = "task-io"  # local: {ns}/CodeSystem/task-io
TASK_INPUT_QUESTION = ("question", "Referral question")
TASK_INPUT_RECORD = ("record", "Record shared for review")  # added when the physician asks for more
TASK_OUTPUT_OPINION = ("opinion", "Second opinion report")
TASK_OUTPUT_ANSWER = ("answer", "Answer to a referral question")  # local, docs/delivery.md
# The physician's conclusion, one output each (docs/delivery.md, "The signed opinion").
TASK_OUTPUT_MMI = ("mmi", "Maximum medical improvement (MMI) conclusion")
TASK_OUTPUT_MMI_DATE = ("mmi-date", "Date of maximum medical improvement")
TASK_OUTPUT_MMI_EXPECTED = ("mmi-expected", "Expected time to maximum medical improvement")
TASK_OUTPUT_WORK_RELATEDNESS = ("work-relatedness", "Work-relatedness")
TASK_OUTPUT_RESTRICTIONS = ("work-restrictions", "Work restrictions")
TASK_OUTPUT_TREATMENT = ("treatment", "Treatment recommendations")
TASK_OUTPUT_SUMMARY = ("summary", "Summary of the opinion")
TASK_OUTPUT_VISIT = ("visit", "Scheduled visit")  # valueDateTime, in person and telehealth

# Local {ns}/CodeSystem/mmi-status: the MMI conclusion (valueCodeableConcept of the "mmi" output).
MMI_STATUS_SYSTEM_ID = "mmi-status"
MMI_STATUS_DISPLAY: dict[MmiStatus, str] = {
    "reached": "MMI reached",
    "not-reached": "Not yet at MMI",
    "indeterminate": "MMI cannot be determined",
}
# Local {ns}/CodeSystem/work-relatedness.
WORK_RELATEDNESS_SYSTEM_ID = "work-relatedness"
WORK_RELATEDNESS_DISPLAY: dict[WorkRelatedness, str] = {
    "work-related": "Work-related",
    "not-work-related": "Not work-related",
    "undetermined": "Work-relatedness cannot be determined",
}
# Local {ns}/CodeSystem/decline-reason: Task.statusReason of a rejected referral.
DECLINE_REASON_SYSTEM_ID = "decline-reason"
DECLINE_REASON_DISPLAY: dict[DeclineReason, str] = {
    "related-party": "Related to the treating clinic or the worker",
    "outside-expertise": "Outside my expertise",
    "ime-request": "The request is really an IME",
    "unavailable": "Not available",
}
# Local {ns}/CodeSystem/hold-reason: Task.statusReason of a referral on hold.
HOLD_REASON_SYSTEM_ID = "hold-reason"
MORE_RECORDS = ("more-records", "More records needed")
EHR_RESOURCE_IDENTIFIER_ID = "ehr-resource"  # {ns}/sid/ehr-resource: absolute URL at the EHR
EHR_VERSION_IDENTIFIER_ID = "ehr-resource-version"  # {ns}/sid/ehr-resource-version: which version was copied

# §5 Coverage (workers' compensation).
WORKERS_COMP_SOPT = Code(SOPT, "95", "Worker's Compensation")
# 951/953/954/959: Worker's Comp HMO / Fee-for-Service / Other Managed Care / Other unspecified.
WORKERS_COMP_SOPT_CODES = frozenset({"95", "951", "953", "954", "959"})
WORKERS_COMP_POLICY = Code(V3_ACT_CODE, "WCBPOL", "worker's compensation")
WORKERS_COMP_PROGRAM_CODE = "WRKCOMP"  # v3-ActCode; recognised only, WCBPOL is preferred
WORKERS_COMP_CODES: frozenset[tuple[str, str]] = frozenset(
    {(SOPT, code) for code in WORKERS_COMP_SOPT_CODES}
    | {(V3_ACT_CODE, WORKERS_COMP_POLICY.code), (V3_ACT_CODE, WORKERS_COMP_PROGRAM_CODE)}
)
INJURED_PARTY = Code(
    "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "injured", "Injured Party"
)
WC_CLAIM_IDENTIFIER_ID = "wc-claim"  # {ns}/sid/wc-claim
WC_CLAIM_IDENTIFIER_TEXT = "Workers' compensation claim number"

# §6 Level II accreditation: {ns}/CodeSystem/co-dowc-accreditation.
ACCREDITATION_SYSTEM_ID = "co-dowc-accreditation"
ACCREDITATION_DISPLAY: dict[Accreditation, str] = {
    "level-ii-full": "Colorado DOWC Level II Accreditation (full)",
    "level-ii-limited": "Colorado DOWC Level II Accreditation (limited)",
    "level-i": "Colorado DOWC Level I Accreditation",
}
# Highest first: full Level II is required for occupational medicine; Level I comes first.
ACCREDITATION_RANK: tuple[Accreditation, ...] = ("level-ii-full", "level-ii-limited", "level-i")
DOCTOR_OF_MEDICINE = Code(V2_0360, "MD", "Doctor of Medicine")
DOCTOR_OF_OSTEOPATHY = Code(V2_0360, "DO", "Doctor of Osteopathy")

# §7 Provenance.
PROVENANCE_PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
AUTHOR = Code(PROVENANCE_PARTICIPANT_TYPE, "author", "Author")
COMPOSER = Code(PROVENANCE_PARTICIPANT_TYPE, "composer", "Composer")
TRANSMITTER = Code(
    "http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type",
    "transmitter",
    "Transmitter",
)
V3_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
CREATE = Code(V3_DATA_OPERATION, "CREATE", "create")
UPDATE = Code(V3_DATA_OPERATION, "UPDATE", "revise")
DEVICE_IDENTIFIER_ID = "device"  # {ns}/sid/device: the app as Provenance.agent.who (a Device)
# Provenance.signature.type (R4 https://hl7.org/fhir/R4/valueset-signature-type.html, ASTM E1762-95).
AUTHOR_SIGNATURE = Code("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.1", "Author's Signature")
OPINION_IDENTIFIER_ID = "opinion"  # {ns}/sid/opinion: the signed opinion letter at the clinic

# OperationOutcome (R4 core, required bindings; not codings, so not in the code table):
# https://hl7.org/fhir/R4/valueset-issue-type.html and valueset-issue-severity.html.
ISSUE_TYPES = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)
ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})

# §9 Work-injury progress (read by the stuck-case check, docs/domain-rules.md "Stuck case"):
# {ns}/CodeSystem/work-injury-progress on Observation.code. No standard code for these was verified.
WORK_INJURY_PROGRESS_SYSTEM_ID = "work-injury-progress"
FUNCTION_SCORE = ("function-score", "Function score (0-100, higher is better)")
WORK_RESTRICTIONS = ("work-restrictions", "Work restrictions")
MMI_REACHED = ("mmi", "Maximum medical improvement reached")
# §9 local: {ns}/CodeSystem/cds-override-reason, the reasons a CDS card offers for dismissing it.
CDS_OVERRIDE_REASON_SYSTEM_ID = "cds-override-reason"
CDS_OVERRIDE_REASONS: dict[str, str] = {
    "progressing": "The case is progressing",
    "opinion-planned": "A second opinion is already planned",
    "ime-scheduled": "An IME or DIME is already scheduled",
    "patient-declines": "The patient declines a second opinion",
}
