"""The domain types Second Opinion owns, independent of FHIR wire shapes.

Everything here is a frozen dataclass: built by the ``*_from_*`` mappers from
what an EHR returns (read liberally) and turned into FHIR by the mappers that
write (strictly). No I/O, no clock, no randomness: ids and times are fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

Modality = Literal["in-person", "telehealth", "record-review"]
MODALITIES: tuple[Modality, ...] = get_args(Modality)

Accreditation = Literal["level-ii-full", "level-ii-limited", "level-i"]
RecordKind = Literal["DocumentReference", "DiagnosticReport"]
MmiStatus = Literal["reached", "not-reached", "indeterminate"]
MMI_STATUSES: tuple[MmiStatus, ...] = get_args(MmiStatus)
WorkRelatedness = Literal["work-related", "not-work-related", "undetermined"]
WORK_RELATEDNESS: tuple[WorkRelatedness, ...] = get_args(WorkRelatedness)
DeclineReason = Literal["related-party", "outside-expertise", "ime-request", "unavailable"]
DECLINE_REASONS: tuple[DeclineReason, ...] = get_args(DeclineReason)


@dataclass(frozen=True)
class PatientSummary:
    """What the banner shows: https://hl7.org/fhir/R4/patient.html."""

    reference: str  # "Patient/123", relative to the EHR's base
    name: str  # "Jane Q. Doe"; "Unnamed patient" when the EHR sends none
    birth_date: str | None = None  # FHIR date as sent ("1980-04-02")
    gender: str | None = None
    mrn: str | None = None  # first identifier's value, for the banner only


@dataclass(frozen=True)
class ConditionSummary:
    """One candidate reason for referral: https://hl7.org/fhir/R4/condition.html."""

    reference: str  # "Condition/abc"
    text: str  # code.text, else the first coding's display, else "Unnamed condition"
    clinical_status: str | None = None  # clinicalStatus code: active, resolved, …
    onset: str | None = None  # onsetDateTime/onsetPeriod.start as sent
    body_site: str | None = None  # bodySite[0] text/display


@dataclass(frozen=True)
class CoverageSummary:
    """The workers' compensation claim: https://hl7.org/fhir/R4/coverage.html."""

    reference: str  # "Coverage/xyz"
    is_workers_comp: bool  # type has SOPT 95x or v3-ActCode WCBPOL/WRKCOMP
    claim_number: str | None = None
    insurer: str | None = None  # payor[0].display
    employer: str | None = None  # policyHolder.display
    status: str | None = None
    injury_date: str | None = None  # period.start of a workers' comp Coverage (docs/fhir-mapping.md §5)


@dataclass(frozen=True)
class RecordSummary:
    """A chart record the ATP may share for a record review (DocumentReference or DiagnosticReport)."""

    reference: str  # "DocumentReference/d1" or "DiagnosticReport/r1"
    kind: RecordKind
    title: str  # description, type or code text; "Untitled document" when none
    date: str | None = None  # FHIR date or dateTime as sent


@dataclass(frozen=True)
class Clinic:
    """An Organization that employs physicians: https://hl7.org/fhir/R4/organization.html."""

    reference: str  # "Organization/org-1"
    name: str
    part_of: str | None = None  # "Organization/parent", when the clinic belongs to another
    identifiers: tuple[str, ...] = ()  # "system|value" pairs, to spot one clinic under two ids
    endpoint: str | None = None  # FHIR base address of the clinic's Endpoint, if it has one
    address: str | None = None  # the first address, as one line
    phone: str | None = None  # telecom, system phone
    fax: str | None = None  # telecom, system fax


@dataclass(frozen=True)
class Physician:
    """A directory entry: a PractitionerRole with its Practitioner and Organization."""

    role_reference: str  # "PractitionerRole/r1": the ServiceRequest.performer
    practitioner_reference: str  # "Practitioner/p1"
    name: str  # "Dr. Ana Ruiz, MD"
    specialties: tuple[str, ...] = ()  # displays, in the order sent
    occupational_medicine: bool = False  # NUCC 2083X0100X/2083P0500X or SNOMED 394821009
    accreditation: Accreditation | None = None  # Colorado DOWC, from Practitioner.qualification
    clinic: Clinic | None = None
    accreditation_issuer: str | None = None  # qualification.issuer display
    accreditation_start: str | None = None  # qualification.period.start, FHIR date
    accreditation_end: str | None = None  # qualification.period.end: past it, not accredited
    visit_types: tuple[Modality, ...] = ()  # from HealthcareService delivery methods; () = not listed
    phone: str | None = None  # PractitionerRole.telecom: the physician's own line, before the clinic's
    fax: str | None = None


@dataclass(frozen=True)
class Requester:
    """The ATP who launched the app, from the verified id_token's fhirUser claim."""

    reference: str  # "Practitioner/atp-1" (or PractitionerRole/…)
    display: str | None = None
    organization: Clinic | None = None  # the ATP's own organization, for the related-clinic rule
    phone: str | None = None  # PractitionerRole.telecom, else the organization's
    fax: str | None = None
    accreditation: Accreditation | None = None  # the ATP's own DOWC accreditation, for the IME guard
    accreditation_end: str | None = None


@dataclass(frozen=True)
class Replaced:
    """The declined referral a new one is sent instead of (https://hl7.org/fhir/R4/servicerequest-definitions.html#ServiceRequest.replaces)."""

    referral_id: str  # our id of the declined referral
    service_request: str  # "ServiceRequest/<id>" of the declined one at the EHR


@dataclass(frozen=True)
class Referral:
    """A second-opinion request as the ATP composed it."""

    id: str  # our referral id: ServiceRequest.identifier value and idempotency key
    patient: PatientSummary
    requester: Requester
    physician: Physician
    modality: Modality
    questions: tuple[str, ...]  # in the ATP's order; at least one
    authored_on: datetime  # timezone-aware; the caller's clock, never ours
    reasons: tuple[ConditionSummary, ...] = ()
    coverage: CoverageSummary | None = None
    records: tuple[RecordSummary, ...] = ()  # ServiceRequest.supportingInfo, record review only
    window: tuple[str, str] | None = None  # requested start and end dates, in person and telehealth
    encounter: str | None = None  # "Encounter/e1" from the launch context, when the EHR gave one
    due_by: date | None = None  # "Opinion needed by": Task.restriction.period.end and a note
    replaces: Replaced | None = None  # sent to another physician after this one declined


@dataclass(frozen=True)
class Conclusion:
    """The second-opinion physician's structured conclusion, the part a workers' comp ATP acts on."""

    mmi: MmiStatus
    summary: str
    mmi_date: str | None = None  # FHIR date, when MMI is reached
    mmi_expected: str | None = None  # in the physician's words ("8 to 12 weeks"), when not yet
    work_relatedness: WorkRelatedness | None = None
    work_relatedness_note: str | None = None
    work_restrictions: str | None = None
    treatment: str | None = None


@dataclass(frozen=True)
class SignedOpinion:
    """What signing returns to the ATP on the Task: an answer per question, the conclusion, the letter."""

    answers: tuple[str, ...]  # one per question, in the ATP's order
    conclusion: Conclusion
    letter_reference: str  # "DocumentReference/<id>" at the clinic: the signed PDF
    visit: str | None = None  # FHIR dateTime of the visit, in person and telehealth
