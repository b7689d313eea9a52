"""Domain rules for a second-opinion referral (DESIGN §4); messages are plain words for the ATP."""

import re
from collections.abc import Mapping, Sequence

from fhir_mappings.domain import Clinic, Physician, Requester
from fhir_mappings.errors import ReferralRuleError

MAX_QUESTIONS = 20
MAX_QUESTION_LENGTH = 2000

QUESTION_TEMPLATES: tuple[str, ...] = (
    "Is the diagnosis correct? If not, what is the correct diagnosis?",
    "Is the current treatment plan appropriate? What else would you recommend?",
    "Has the patient reached maximum medical improvement (MMI)? "
    "If not, what treatment is needed, and when do you expect MMI?",
    "Are the current work restrictions appropriate? If not, what would you recommend?",
)

_UNRELATED = "A second opinion must come from an unrelated clinic: please choose another physician."

IME_DIFFERENCE = (
    "An IME (independent medical examination) is requested by the insurer, the employer or an "
    "attorney, usually when MMI or an impairment rating is disputed; in Colorado the Division's "
    "own IME for those disputes is the DIME. A second opinion answers your questions as the "
    "treating provider, and you keep the patient's care. You may still send this request."
)
_MMI = re.compile(r"\bMMI\b|maximum medical improvement", re.IGNORECASE)
_DISPUTE = re.compile(
    r"\bdisput|\bdisagree|\bcontest|\binsurer|\binsurance carrier|\badjuster"
    r"|\battorney|\blawyer|\bcounsel\b|\bemployer|\bpart(?:y|ies)\b|\blitigat",
    re.IGNORECASE,
)
_IME_TOPICS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\bimpairment\b|\bwhole[- ]person\b|\bdisability rating\b|\bAMA Guides\b", re.I
        ),
        "Rating permanent impairment is a matter for an IME or a DIME, not a second opinion.",
    ),
    (
        re.compile(r"\bapportion", re.IGNORECASE),
        "Apportionment between this injury and other causes is a matter for an IME or a DIME.",
    ),
    (
        re.compile(r"(?-i:\bDIME\b)|division[- ]independent medical exam", re.IGNORECASE),
        "A DIME is ordered through the Division of Workers' Compensation, not by a referral.",
    ),
    (
        re.compile(
            r"(?-i:\bIME\b)|(?<!division )independent medical (?:exam|evaluation)", re.IGNORECASE
        ),
        "An IME is requested by the insurer, the employer or an attorney, not by the ATP.",
    ),
)
_DISPUTED_MMI = "A dispute about MMI between the parties is a matter for an IME or a DIME."


def validate_questions(raw: Sequence[str]) -> tuple[str, ...]:
    """The questions stripped, blanks dropped, order kept: 1 to 20, each ≤ 2,000 characters."""
    questions = tuple(question.strip() for question in raw if question.strip())
    if not questions:
        raise ReferralRuleError("Please ask at least one specific question.")
    if len(questions) > MAX_QUESTIONS:
        raise ReferralRuleError(
            f"Please ask at most {MAX_QUESTIONS} questions (you asked {len(questions)})."
        )
    for number, question in enumerate(questions, start=1):
        if len(question) > MAX_QUESTION_LENGTH:
            raise ReferralRuleError(
                f"Question {number} is too long: please keep each question under "
                f"{MAX_QUESTION_LENGTH:,} characters."
            )
    return questions


def related_clinic_reason(
    requester: Requester, physician: Physician, clinics: Mapping[str, Clinic]
) -> str | None:
    """Why the physician's clinic is related to the ATP's organization (DESIGN §4), or None."""
    if requester.organization is None or physician.clinic is None:
        return None
    own = clinics.get(requester.organization.reference, requester.organization)
    theirs = clinics.get(physician.clinic.reference, physician.clinic)
    own_parents = _ancestors_of(own, clinics)
    their_parents = _ancestors_of(theirs, clinics)
    common = [reference for reference in own_parents if reference in their_parents]
    shared = sorted(set(own.identifiers) & set(theirs.identifiers))
    if theirs.reference == own.reference:
        reason = f"{physician.name} works at {theirs.name}, your own organization."
    elif own.reference in their_parents:
        reason = f"{theirs.name}, where {physician.name} works, is part of {own.name}."
    elif theirs.reference in own_parents:
        reason = f"Your organization, {own.name}, is part of {theirs.name}."
    elif common:
        parent = clinics[common[0]].name if common[0] in clinics else common[0]
        reason = f"{theirs.name} and your organization, {own.name}, both belong to {parent}."
    elif shared:
        reason = f"{theirs.name} shares an identifier ({shared[0]}) with {own.name}."
    else:
        return None
    return f"{reason} {_UNRELATED}"


def ime_warnings(questions: Sequence[str]) -> tuple[str, ...]:
    """Plain warnings for questions that belong to an IME or DIME, then how the two differ."""
    warnings = [
        warning
        for pattern, warning in _IME_TOPICS
        if any(pattern.search(question) for question in questions)
    ]
    if any(_MMI.search(question) and _DISPUTE.search(question) for question in questions):
        warnings.append(_DISPUTED_MMI)
    return (*warnings, IME_DIFFERENCE) if warnings else ()


def _ancestors_of(clinic: Clinic, clinics: Mapping[str, Clinic]) -> list[str]:
    """The partOf chain upwards, cycles cut (https://hl7.org/fhir/R4/organization-definitions.html#Organization.partOf)."""
    ancestors: list[str] = []
    parent = clinic.part_of
    while parent is not None and parent not in ancestors and parent != clinic.reference:
        ancestors.append(parent)
        parent = clinics[parent].part_of if parent in clinics else None
    return ancestors
