"""Rules of the composer: visit window, accreditation (expired counts as none), physician warnings,
directory search and order, and the question buttons that never lose text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from fhir_mappings.directory import physicians_from_resources
from fhir_mappings.directory_search import DirectoryQuery, directory_rows
from fhir_mappings.domain import Clinic, Physician, Requester
from fhir_mappings.errors import ReferralRuleError
from fhir_mappings.rules import current_accreditation, physician_warnings, validate_window
from smart_app.referrals.form import ComposeForm

TODAY = date(2026, 3, 2)
NS = "https://so.example.org/fhir"
SUMMIT = Clinic("Organization/summit", "Summit Occupational Medicine")
OWN = Clinic("Organization/own", "Front Range Occupational Health")
GOOD = Physician(
    "PractitionerRole/good", "Practitioner/g", "Dr. Riley Chen, MD", ("Occupational medicine",),
    True, "level-ii-full", SUMMIT, "Colorado Division of Workers' Compensation", "2025-08-01",
    "2028-07-31",
)
EXPIRED = replace(
    GOOD, role_reference="PractitionerRole/expired", name="Dr. Old", accreditation_end="2026-03-01"
)
SURGEON = replace(GOOD, role_reference="PractitionerRole/surgeon", name="Dr. Cut",
                  specialties=("Orthopaedic surgery",), occupational_medicine=False)
RELATED = replace(GOOD, role_reference="PractitionerRole/related", name="Dr. Near", clinic=OWN)
REQUESTER = Requester("Practitioner/atp", "Dr. Atp", OWN)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("", "", "two dates"),
        ("2026-13-01", "2026-03-10", "two dates"),
        ("2026-03-01", "2026-03-10", "cannot start in the past"),
        ("2026-03-10", "2026-03-09", "end on or after"),
        ("2026-03-02", "2027-03-03", "within a year"),
    ],
)
def test_window_is_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(ReferralRuleError, match=message):
        validate_window(start, end, TODAY)


def test_window_from_today_to_a_year_is_accepted() -> None:
    assert validate_window(" 2026-03-02", "2027-03-02 ", TODAY) == ("2026-03-02", "2027-03-02")


def test_expired_accreditation_counts_as_not_accredited() -> None:
    assert current_accreditation(GOOD, TODAY) == "level-ii-full"
    assert current_accreditation(EXPIRED, TODAY) is None
    assert current_accreditation(replace(EXPIRED, accreditation_end="2026-03-02"), TODAY) == "level-ii-full"
    assert physician_warnings(EXPIRED, TODAY) == (
        "Dr. Old's Colorado accreditation expired on 2026-03-01: treat it as not accredited.",
    )


def test_not_level_ii_or_not_occupational_medicine_warns() -> None:
    assert physician_warnings(GOOD, TODAY) == ()
    assert physician_warnings(replace(GOOD, accreditation="level-i"), TODAY) == (
        "Dr. Riley Chen, MD is not Level II accredited in Colorado.",
    )
    assert physician_warnings(SURGEON, TODAY) == (
        "Dr. Cut is not listed as an occupational medicine physician.",
    )


def test_accreditation_is_read_with_issuer_and_period_and_the_best_one_wins() -> None:
    system = f"{NS}/CodeSystem/co-dowc-accreditation"
    practitioner = {
        "resourceType": "Practitioner", "id": "p", "name": [{"text": "Dr. P"}],
        "qualification": [
            {"code": {"coding": [{"system": system, "code": "level-ii-full"}]},
             "period": {"start": "2019-08-01", "end": "2022-07-31"}, "issuer": {"display": "Old"}},
            {"code": {"coding": [{"system": system, "code": "level-ii-full"}]},
             "period": {"start": "2022-08-01", "end": "2025-07-31"}, "issuer": {"display": "DOWC"}},
            {"code": {"coding": [{"system": system, "code": "level-i"}]}},
        ],
    }
    role = {
        "resourceType": "PractitionerRole", "id": "r", "practitioner": {"reference": "Practitioner/p"}
    }
    [physician] = physicians_from_resources([practitioner, role], NS)
    assert (physician.accreditation, physician.accreditation_issuer) == ("level-ii-full", "DOWC")
    assert (physician.accreditation_start, physician.accreditation_end) == ("2022-08-01", "2025-07-31")


def test_directory_lists_suitable_first_and_related_last_with_reasons() -> None:
    rows = directory_rows([RELATED, SURGEON, EXPIRED, GOOD], REQUESTER, {}, DirectoryQuery(), TODAY)
    assert [row.physician.name for row in rows] == ["Dr. Riley Chen, MD", "Dr. Cut", "Dr. Old", "Dr. Near"]
    assert rows[-1].related is not None and "your own organization" in rows[-1].related
    assert [row.accredited for row in rows] == [True, True, False, True]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        (DirectoryQuery(name="chen"), ["Dr. Riley Chen, MD"]),
        (DirectoryQuery(name="summit"), ["Dr. Riley Chen, MD", "Dr. Cut", "Dr. Old"]),
        (DirectoryQuery(specialty="ortho"), ["Dr. Cut"]),
        (DirectoryQuery(level_ii_only=True), ["Dr. Riley Chen, MD", "Dr. Cut"]),
    ],
)
def test_directory_search(query: DirectoryQuery, names: list[str]) -> None:
    rows = directory_rows([GOOD, SURGEON, EXPIRED], REQUESTER, {}, query, TODAY)
    assert [row.physician.name for row in rows] == names


def _form(*questions: str) -> ComposeForm:
    return ComposeForm("a" * 32, "Patient/p", questions=list(questions))


@pytest.mark.parametrize(
    ("action", "after"),
    [
        ("up-1", ["B", "A", "C"]),
        ("down-1", ["A", "C", "B"]),
        ("up-0", ["A", "B", "C"]),
        ("down-2", ["A", "B", "C"]),
        ("remove-1", ["A", "C"]),
        ("remove-9", ["A", "B", "C"]),
        ("add-question", ["A", "B", "C", ""]),
        ("nonsense", ["A", "B", "C"]),
    ],
)
def test_question_buttons_keep_every_text(action: str, after: list[str]) -> None:
    form = _form("A", "B", "C")
    form.apply(action)
    assert form.questions == after


def test_removing_the_last_question_leaves_one_empty_box() -> None:
    form = _form("A")
    form.apply("remove-0")
    assert form.questions == [""]


def test_a_template_fills_the_first_empty_box_and_is_editable_text() -> None:
    form = _form("A", "")
    template = "Are the current work restrictions appropriate? If not, what would you recommend?"
    form.apply("add-template", template)
    assert form.questions == ["A", template]
    form.apply("add-template", "Not one of ours")
    assert form.questions == ["A", template]


def _with_services(*codes: str) -> list[dict[str, Any]]:
    ndh = "http://hl7.org/fhir/us/ndh"
    service: dict[str, Any] = {
        "resourceType": "HealthcareService", "id": "hs",
        "extension": [
            {"url": f"{ndh}/StructureDefinition/base-ext-delivery-method",
             "extension": [{"url": "deliveryMethodtype", "valueCodeableConcept": {
                 "coding": [{"system": f"{ndh}/CodeSystem/DeliveryMethodCS", "code": code}]}}]}
            for code in codes
        ],
    }
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole", "id": "r", "practitioner": {"reference": "Practitioner/p"},
        "healthcareService": [{"reference": "HealthcareService/hs"}],
    }
    return [service, role]


@pytest.mark.parametrize(
    ("codes", "visit_types"),
    [
        (("physical", "virtual"), ("in-person", "telehealth", "record-review")),
        (("virtual",), ("telehealth", "record-review")),
        (("carrier-pigeon",), ()),
        ((), ()),
    ],
)
def test_visit_types_come_from_ndh_delivery_methods(
    codes: tuple[str, ...], visit_types: tuple[str, ...]
) -> None:
    [physician] = physicians_from_resources(_with_services(*codes), NS)
    assert physician.visit_types == visit_types


def test_directory_search_by_visit_type() -> None:
    remote = replace(GOOD, visit_types=("telehealth", "record-review"))
    unlisted = replace(SURGEON, visit_types=())
    rows = directory_rows([remote, unlisted], REQUESTER, {}, DirectoryQuery(visit_type="telehealth"), TODAY)
    assert [row.physician.name for row in rows] == ["Dr. Riley Chen, MD"]
    rows = directory_rows([remote, unlisted], REQUESTER, {}, DirectoryQuery(visit_type="in-person"), TODAY)
    assert rows == []


def test_a_visit_type_the_physician_does_not_list_warns() -> None:
    remote = replace(GOOD, visit_types=("telehealth", "record-review"))
    assert physician_warnings(remote, TODAY, "telehealth") == ()
    assert physician_warnings(remote, TODAY, "in-person") == (
        "Dr. Riley Chen, MD's directory entry does not list in person.",
    )
    assert physician_warnings(replace(GOOD, visit_types=()), TODAY, "in-person") == ()
