"""The IME guard: questions that belong to an IME or a DIME, and the rating a second opinion may ask for.

A second opinion answers the treating physician's clinical questions; an IME is requested by the
insurer, the employer or an attorney, and a disputed MMI or rating goes to the Division's IME (the
DIME). In Colorado the treating physician who places a patient at MMI "shall determine or cause to
be determined" the impairment rating (7 CCR 1101-3 Rule 12-2(A)), and only a Level II accredited
physician may rate (Rule 13-1(A)(2)): so a treating physician who is not Level II accredited may
rightly ask a Level II physician for the rating at MMI. docs/domain-rules.md, "IME guard", cites
the sources. Each note names the question that raised it.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

IME_DIFFERENCE = (
    "An IME (independent medical examination) is requested by the insurer, the employer or an "
    "attorney, usually when MMI or an impairment rating is disputed; in Colorado the Division's "
    "own IME for those disputes is the DIME. A second opinion answers your questions as the "
    "treating provider, and you keep the patient's care. You may still send this request."
)


@dataclass(frozen=True)
class GuardNote:
    """What one question raised: an IME matter (``ime``), or why it fits a second opinion."""

    question: int  # the question's number on the form, from 1
    excerpt: str  # the question's first words, so the ATP sees which one
    text: str
    ime: bool = True

    def __str__(self) -> str:
        return f"Question {self.question} (“{self.excerpt}”): {self.text}"


_MMI = re.compile(r"\bMMI\b|maximum medical improvement", re.IGNORECASE)
_DISPUTE = re.compile(
    r"\bdisput|\bdisagree|\bcontest|\binsurer|\binsurance carrier|\badjuster"
    r"|\battorney|\blawyer|\bcounsel\b|\bemployer|\bpart(?:y|ies)\b|\blitigat",
    re.IGNORECASE,
)
_RATING = re.compile(
    r"\bimpairment\b(?! of hearing)|\bwhole[- ]person\b|\bdisability rating\b|\bAMA Guides\b"
    r"|\bapportion",
    re.IGNORECASE,
)
_DIME = re.compile(r"(?-i:\bDIME\b)|division[- ]independent medical exam", re.IGNORECASE)
_IME = re.compile(r"(?-i:\bIME\b)|(?<!division )independent medical (?:exam|evaluation)", re.IGNORECASE)
_CAUSATION = re.compile(r"\bcaus(?:ation|ally|ed|e)\b|\bwork[- ]related\b", re.IGNORECASE)
# Where a workers' comp dispute is argued: hearings before an administrative law judge, the
# physician's deposition or testimony, the parties' attorneys, subpoenas and settlements.
_LITIGATION = re.compile(
    r"\blitigat|\blawsuit|\bdeposition|\bdepose|\btestif|\btestimony|\bsubpoena|\bcourt\b"
    r"|\blegal\b|\battorney|\blawyer|\bcounsel\b|\badministrative law judge|(?-i:\bALJ\b)"
    r"|\bsettlement|(?<!hard of )\bhearing\b(?! (?:loss|aids?|tests?|impairment|threshold))",
    re.IGNORECASE,
)

_DISPUTED_RATING = (
    "A rating the parties dispute is a matter for a DIME, not a second opinion. You might ask "
    "instead: \"Which findings do you relate to this injury, and what treatment do they need?\""
)
_RATING_AT_MMI = (
    "At MMI the treating physician determines the impairment rating or has it determined "
    "(Rule 12-2(A)); apportionment is part of that rating (Rule 12-3). "
)
_RATING_FITS = (
    _RATING_AT_MMI + "As you are not Level II accredited, asking a Level II accredited physician "
    "for the rating once you have placed the patient at MMI fits a second opinion: it is not an IME."
)
_RATING_NEEDS_LEVEL_II = (
    _RATING_FITS + " Only a Level II accredited physician may rate (Rule 13-1(A)(2)): the "
    "physician chosen is not, so choose one who is."
)
_RATING_YOURS = (
    _RATING_AT_MMI + "You are Level II accredited, so the rating is yours to give; asking another "
    "physician to rate reads like an IME. You might ask instead: \"What treatment would help the "
    "patient reach MMI?\""
)
_RATING_UNKNOWN = (
    _RATING_AT_MMI + "If you are not Level II accredited, asking a Level II accredited physician "
    "for the rating at MMI fits a second opinion and is not an IME; a rating the parties dispute "
    "is a matter for a DIME."
)
_DIME_TEXT = (
    "A DIME is ordered through the Division of Workers' Compensation, not by a referral. "
    "You might ask instead: \"Do you agree with the current diagnosis and plan?\""
)
_IME_TEXT = (
    "An IME is requested by the insurer, the employer or an attorney, not by the ATP. "
    "You might ask instead: \"Is the treatment plan appropriate, and what else would you "
    "recommend?\""
)
_DISPUTED_MMI = (
    "A dispute about MMI between the parties is a matter for an IME or a DIME. You might ask "
    "instead: \"Has the patient reached MMI? If not, what treatment is needed, and when?\""
)
_CAUSATION_FOR_LITIGATION = (
    "An opinion on causation for a hearing or litigation is a matter for an IME. You might ask "
    "instead: \"Is the diagnosis consistent with the reported mechanism of injury?\""
)
_LITIGATION_TEXT = (
    "A question for a hearing, a deposition, an attorney or a settlement is IME territory: a "
    "second opinion answers your clinical questions as the treating provider. You might ask the "
    "clinical question itself, for example: \"What treatment is needed, and when do you expect MMI?\""
)


def guard_notes(
    questions: Sequence[str],
    *,
    requester_level_ii: bool | None = None,
    physician_level_ii: bool | None = None,
) -> tuple[GuardNote, ...]:
    """Each question's notes, in order; the Level II facts are None when unknown (no ATP or no physician)."""
    notes: list[GuardNote] = []
    for number, question in enumerate(questions, start=1):
        if not question.strip():
            continue
        for text, ime in _topics(question, requester_level_ii, physician_level_ii):
            notes.append(GuardNote(number, _excerpt(question), text, ime))
    return tuple(notes)


def ime_warnings(questions: Sequence[str]) -> tuple[str, ...]:
    """The IME notes as plain lines, then how an IME and a second opinion differ; () when none."""
    lines = tuple(str(note) for note in guard_notes(questions) if note.ime)
    return (*lines, IME_DIFFERENCE) if lines else ()


def _topics(
    question: str, requester_level_ii: bool | None, physician_level_ii: bool | None
) -> list[tuple[str, bool]]:
    """(text, is an IME matter) for every topic the question raises."""
    found: list[tuple[str, bool]] = []
    disputed = bool(_DISPUTE.search(question))
    if _RATING.search(question):
        found.append(_rating(disputed, requester_level_ii, physician_level_ii))
    if _DIME.search(question):
        found.append((_DIME_TEXT, True))
    if _IME.search(question):
        found.append((_IME_TEXT, True))
    if _MMI.search(question) and disputed and not _RATING.search(question):
        found.append((_DISPUTED_MMI, True))
    if _LITIGATION.search(question):
        found.append((_CAUSATION_FOR_LITIGATION if _CAUSATION.search(question) else _LITIGATION_TEXT, True))
    return found


def _rating(
    disputed: bool, requester_level_ii: bool | None, physician_level_ii: bool | None
) -> tuple[str, bool]:
    """A rating question: IME territory when disputed or when the ATP may rate, else it fits."""
    if disputed:
        return _DISPUTED_RATING, True
    if requester_level_ii is True:
        return _RATING_YOURS, True
    if requester_level_ii is False:
        return (_RATING_NEEDS_LEVEL_II if physician_level_ii is False else _RATING_FITS), False
    return _RATING_UNKNOWN, False


def _excerpt(question: str, words: int = 8) -> str:
    """The question's first words, with "…" when cut."""
    parts = question.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")
