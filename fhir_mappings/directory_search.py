"""Finding a second-opinion physician in the directory (docs/domain-rules.md, "Directory").

Suitable physicians come first: unrelated with no warning, then those with a warning the
ATP must acknowledge, then related clinics (shown, never choosable).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from fhir_mappings.domain import Clinic, Modality, Physician, Requester
from fhir_mappings.rules import current_accreditation, physician_warnings, related_clinic_reason


@dataclass(frozen=True)
class DirectoryQuery:
    """What the ATP searches by; blank fields match everything."""

    name: str = ""
    specialty: str = ""
    level_ii_only: bool = False  # current Level II, and not in a related clinic
    visit_type: Modality | None = None  # only physicians whose directory entry offers it


@dataclass(frozen=True)
class DirectoryRow:
    """One physician as the composer lists it."""

    physician: Physician
    related: str | None  # why the clinic is related: the physician cannot be chosen
    warnings: tuple[str, ...]  # not Level II, expired, not occupational medicine
    accredited: bool  # a current Level II accreditation


def directory_rows(
    physicians: Sequence[Physician],
    requester: Requester,
    clinics: Mapping[str, Clinic],
    query: DirectoryQuery,
    today: date,
    modality: Modality | None = None,
) -> list[DirectoryRow]:
    """The physicians matching the query (the ATP left out), most suitable first, each with its verdict."""
    rows = [
        DirectoryRow(
            physician=p,
            related=related_clinic_reason(requester, p, clinics),
            warnings=physician_warnings(p, today, modality),
            accredited=current_accreditation(p, today) in ("level-ii-full", "level-ii-limited"),
        )
        for p in physicians
        if _matches(p, query, today) and not _is_the_requester(p, requester)
    ]
    if query.level_ii_only:  # only physicians the ATP could choose: a related clinic never can
        rows = [row for row in rows if row.related is None]
    return sorted(rows, key=_rank)


def _is_the_requester(physician: Physician, requester: Requester) -> bool:
    return requester.reference in (physician.practitioner_reference, physician.role_reference)


def _rank(row: DirectoryRow) -> int:
    return 2 if row.related else 1 if row.warnings else 0


def _matches(physician: Physician, query: DirectoryQuery, today: date) -> bool:
    name, specialty = query.name.strip().casefold(), query.specialty.strip().casefold()
    clinic = physician.clinic.name if physician.clinic else ""
    if name and name not in f"{physician.name} {clinic}".casefold():
        return False
    if specialty and not any(specialty in s.casefold() for s in physician.specialties):
        return False
    if query.visit_type and query.visit_type not in physician.visit_types:
        return False
    level = current_accreditation(physician, today)
    return not query.level_ii_only or level in ("level-ii-full", "level-ii-limited")
