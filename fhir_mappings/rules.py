"""Domain rules for a second-opinion referral (docs/domain-rules.md); messages are plain words for the ATP."""

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from fhir_mappings.codes import MODALITY_DISPLAY
from fhir_mappings.domain import Accreditation, Clinic, Modality, Physician, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.ime_guard import IME_DIFFERENCE as IME_DIFFERENCE  # kept importable from here
from fhir_mappings.ime_guard import ime_warnings as ime_warnings
from fhir_mappings.text import has_forbidden_character, has_visible_character

MAX_QUESTIONS = 20
MAX_QUESTION_LENGTH = 1000
MAX_WINDOW = timedelta(days=365)
# "Opinion needed by" (docs/domain-rules.md, "Due date"): left empty, two weeks after the window's
# last day for a visit (time to write the report), 30 days from today for a record review.
DUE_AFTER_VISIT = timedelta(days=14)
DUE_FOR_REVIEW = timedelta(days=30)
MAX_DUE_AFTER_VISIT = timedelta(days=60)
MAX_DUE_FOR_REVIEW = timedelta(days=365)

# (topic, question) pairs the ATP picks and edits, worded from the Colorado Division of Workers'
# Compensation Medical Treatment Guidelines (Rule 17, 7 CCR 1101-3) where they speak to the topic;
# docs/domain-rules.md, "Questions", names each source.
QUESTION_TEMPLATE_TOPICS: tuple[tuple[str, str], ...] = (
    ("Diagnosis", "Is the diagnosis correct? If not, what is the correct diagnosis?"),
    ("Causation and work-relatedness",
     "Is each diagnosis medically related to the work injury or to the work activity described? "
     "Please explain the reasoning, including other causes you considered."),
    ("Further diagnostic tests",
     "Are further diagnostic tests needed (for example imaging, electrodiagnostic studies or a "
     "psychological evaluation)? If so, which ones, and how would the results change the plan?"),
    ("Treatment plan",
     "Is the current treatment plan appropriate? What else would you recommend?"),
    ("Surgery or injections",
     "Is the patient a candidate for surgery or for injections? If so, which procedure, and what "
     "functional outcome do you expect from it?"),
    ("Medications",
     "Are the current medications appropriate, including any opioids? What changes would you "
     "recommend?"),
    ("Delayed recovery",
     "Recovery is slower than expected: what medical or psychosocial factors do you see, and what "
     "would help?"),
    ("MMI",
     "Has the patient reached maximum medical improvement (MMI)? "
     "If not, what treatment is needed, and when do you expect MMI?"),
    ("Maintenance care after MMI",
     "Once the patient is at MMI, what maintenance care, if any, is reasonable to keep the current "
     "function, and for how long?"),
    ("Work restrictions",
     "Are the current work restrictions appropriate? If not, what would you recommend?"),
    ("Return to work and prognosis",
     "When can the patient return to work, at full or modified duty, and what is the prognosis?"),
)
QUESTION_TEMPLATES: tuple[str, ...] = tuple(text for _, text in QUESTION_TEMPLATE_TOPICS)
QUESTION_BY_TOPIC: dict[str, str] = dict(QUESTION_TEMPLATE_TOPICS)  # the stuck-case check names its own

_UNRELATED = "A second opinion must come from an unrelated clinic: please choose another physician."

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


def default_due_date(today: date, window_end: date | None) -> date:
    """The due date when the ATP leaves it empty."""
    return window_end + DUE_AFTER_VISIT if window_end else today + DUE_FOR_REVIEW


def validate_due_date(raw: str, today: date, window_end: date | None) -> date:
    """The "Opinion needed by" date: after today, not before the window's last day, not too far off."""
    if not raw.strip():
        return default_due_date(today, window_end)
    try:
        due = date.fromisoformat(raw.strip())
    except ValueError:
        raise ReferralRuleError(
            "Give the date the opinion is needed by as a date, or leave it empty."
        ) from None
    if due <= today:
        raise ReferralRuleError("The opinion must be needed by a day after today.")
    if window_end and due < window_end:
        raise ReferralRuleError(
            f"The opinion cannot be needed before the visit window ends ({window_end.isoformat()})."
        )
    if window_end and due > window_end + MAX_DUE_AFTER_VISIT:
        raise ReferralRuleError("The opinion must be needed within 60 days after the visit window ends.")
    if not window_end and due > today + MAX_DUE_FOR_REVIEW:
        raise ReferralRuleError("The opinion must be needed within a year.")
    return due


LEVEL_II: tuple[Accreditation, ...] = ("level-ii-full", "level-ii-limited")


def is_level_ii(accreditation: Accreditation | None, end: str | None, today: date) -> bool:
    """A Level II accreditation whose period has not ended (docs/fhir-mapping.md §6)."""
    return accreditation in LEVEL_II and not (end is not None and end[:10] < today.isoformat())


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


def _ancestors_of(clinic: Clinic, clinics: Mapping[str, Clinic]) -> list[str]:
    """The partOf chain upwards, cycles cut (https://hl7.org/fhir/R4/organization-definitions.html#Organization.partOf)."""
    ancestors: list[str] = []
    parent = clinic.part_of
    while parent is not None and parent not in ancestors and parent != clinic.reference:
        ancestors.append(parent)
        parent = clinics[parent].part_of if parent in clinics else None
    return ancestors
