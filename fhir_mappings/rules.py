"""Domain rules for a second-opinion referral (docs/domain-rules.md); messages are plain words for the ATP."""

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from fhir_mappings.codes import MODALITY_DISPLAY
from fhir_mappings.domain import Accreditation, Clinic, Modality, Physician, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.text import has_forbidden_character, has_visible_character

MAX_QUESTIONS = 20
MAX_QUESTION_LENGTH = 1000
MAX_WINDOW = timedelta(days=365)

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
        "Rating permanent impairment is a matter for an IME or a DIME, not a second opinion. "
        "You might ask instead: \"What treatment would help the patient reach MMI?\"",
    ),
    (
        re.compile(r"\bapportion", re.IGNORECASE),
        "Apportionment between this injury and other causes is a matter for an IME or a DIME. "
        "You might ask instead: \"Which findings do you relate to this injury, and what "
        "treatment do they need?\"",
    ),
    (
        re.compile(r"(?-i:\bDIME\b)|division[- ]independent medical exam", re.IGNORECASE),
        "A DIME is ordered through the Division of Workers' Compensation, not by a referral. "
        "You might ask instead: \"Do you agree with the current diagnosis and plan?\"",
    ),
    (
        re.compile(
            r"(?-i:\bIME\b)|(?<!division )independent medical (?:exam|evaluation)", re.IGNORECASE
        ),
        "An IME is requested by the insurer, the employer or an attorney, not by the ATP. "
        "You might ask instead: \"Is the treatment plan appropriate, and what else would you "
        "recommend?\"",
    ),
)
_DISPUTED_MMI = (
    "A dispute about MMI between the parties is a matter for an IME or a DIME. You might ask "
    "instead: \"Has the patient reached MMI? If not, what treatment is needed, and when?\""
)
_CAUSATION = re.compile(r"\bcaus(?:ation|ally|ed|e)\b|\bwork[- ]related\b", re.IGNORECASE)
_LITIGATION = re.compile(
    r"\blitigat|\blawsuit|\bdeposition|\btestif|\btestimony|\bcourt\b|\blegal\b"
    r"|\battorney|\blawyer|\bhearing\b(?! (?:loss|aid|test))",
    re.IGNORECASE,
)
_CAUSATION_FOR_LITIGATION = (
    "An opinion on causation for a hearing or litigation is a matter for an IME. You might ask "
    "instead: \"Is the diagnosis consistent with the reported mechanism of injury?\""
)


def validate_questions(raw: Sequence[str]) -> tuple[str, ...]:
    """The questions stripped, invisible ones dropped, order kept: 1 to 20, each ≤ 1,000 characters."""
    questions = tuple(q.strip() for q in raw if has_visible_character(q) or has_forbidden_character(q))
    if not questions:
        raise ReferralRuleError("Please ask at least one specific question.")
    if len(questions) > MAX_QUESTIONS:
        raise ReferralRuleError(
            f"Please ask at most {MAX_QUESTIONS} questions (you asked {len(questions)})."
        )
    for number, question in enumerate(questions, start=1):
        if has_forbidden_character(question):
            raise ReferralRuleError(
                f"Question {number} contains a character that cannot be sent (a control "
                "character, often pasted from another program): please retype that part."
            )
        if len(question) > MAX_QUESTION_LENGTH:
            raise ReferralRuleError(
                f"Question {number} is too long: please keep each question under "
                f"{MAX_QUESTION_LENGTH:,} characters."
            )
    return questions


def validate_window(start: str, end: str, today: date) -> tuple[str, str]:
    """The requested visit window as FHIR dates: from today on, end not before start, within a year."""
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise ReferralRuleError(
            "Give the requested window as two dates (first and last day for the visit)."
        ) from None
    if first < today:
        raise ReferralRuleError("The requested window cannot start in the past.")
    if last < first:
        raise ReferralRuleError("The requested window must end on or after its first day.")
    if last - today > MAX_WINDOW:
        raise ReferralRuleError("The requested window must end within a year.")
    return first.isoformat(), last.isoformat()


def current_accreditation(physician: Physician, today: date) -> Accreditation | None:
    """The physician's DOWC accreditation unless its period has ended: expired counts as none."""
    end = physician.accreditation_end
    if physician.accreditation is None or (end is not None and end[:10] < today.isoformat()):
        return None
    return physician.accreditation


def physician_warnings(
    physician: Physician, today: date, modality: Modality | None = None
) -> tuple[str, ...]:
    """Why this physician may not suit this second opinion; the ATP may acknowledge them."""
    warnings: list[str] = []
    if modality and physician.visit_types and modality not in physician.visit_types:
        warnings.append(
            f"{physician.name}'s directory entry does not list {MODALITY_DISPLAY[modality].lower()}."
        )
    level = current_accreditation(physician, today)
    if physician.accreditation is not None and level is None:
        warnings.append(
            f"{physician.name}'s Colorado accreditation expired on {physician.accreditation_end}: "
            "treat it as not accredited."
        )
    elif level not in ("level-ii-full", "level-ii-limited"):
        warnings.append(f"{physician.name} is not Level II accredited in Colorado.")
    if not physician.occupational_medicine:
        warnings.append(f"{physician.name} is not listed as an occupational medicine physician.")
    return tuple(warnings)


def related_clinic_reason(
    requester: Requester, physician: Physician, clinics: Mapping[str, Clinic]
) -> str | None:
    """Why the physician's clinic is related to the ATP's organization (docs/domain-rules.md), or None."""
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
    """Plain warnings (why, and wording to use instead) for IME or DIME matters, then how the two differ."""
    warnings = [
        warning
        for pattern, warning in _IME_TOPICS
        if any(pattern.search(question) for question in questions)
    ]
    if any(_MMI.search(question) and _DISPUTE.search(question) for question in questions):
        warnings.append(_DISPUTED_MMI)
    if any(_CAUSATION.search(q) and _LITIGATION.search(q) for q in questions):
        warnings.append(_CAUSATION_FOR_LITIGATION)
    return (*warnings, IME_DIFFERENCE) if warnings else ()


def _ancestors_of(clinic: Clinic, clinics: Mapping[str, Clinic]) -> list[str]:
    """The partOf chain upwards, cycles cut (https://hl7.org/fhir/R4/organization-definitions.html#Organization.partOf)."""
    ancestors: list[str] = []
    parent = clinic.part_of
    while parent is not None and parent not in ancestors and parent != clinic.reference:
        ancestors.append(parent)
        parent = clinics[parent].part_of if parent in clinics else None
    return ancestors
