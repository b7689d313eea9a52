"""The sandbox EHR's chart page as a CDS Hooks client of the live app: cards, launch, referral, orders."""

from __future__ import annotations

import re
import time

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from fhir_mappings.rules import QUESTION_BY_TOPIC
from smart_app.cds.records import CardFeedback
from smart_app.services import services
from tests.pages import browser_session, form_fields, referral_form
from tests.sandbox_server import Sandbox

pytestmark = pytest.mark.usefixtures("live_app")
FORM_FIELDS = ("csrf_token", "practitioner", "patient", "service", "card", "suggestion", "url", "app_context")


def open_chart(sandbox: Sandbox, patient: str, **params: str) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    page = requests.get(
        f"{sandbox.ehr_url}ehr/chart",
        params={"practitioner": "atp-1", "patient": patient, **params},
        timeout=30,
    )
    return page, time.perf_counter() - started


def status(page: requests.Response) -> str:
    found = re.search(r'id="cds-status">(.*?)</p>', page.text, re.S)
    assert found, page.text[:500]
    return found[1]


def summaries(page: requests.Response) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", page.text)


@pytest.mark.parametrize("prefetch", ["1", "0"])
@pytest.mark.parametrize(
    ("patient", "rule"),
    [
        ("wc-10", "no MMI 40 weeks after the injury"),
        ("wc-11", "same work restrictions for 9 weeks"),
        ("wc-12", "no functional gain across 3 visits"),
    ],
)
def test_the_chart_suggests_a_second_opinion_for_a_stuck_case(
    sandbox: Sandbox, patient: str, rule: str, prefetch: str
) -> None:
    page, seconds = open_chart(sandbox, patient, prefetch=prefetch)
    assert page.status_code == 200 and seconds < 2.0
    assert summaries(page) == [f"Consider a second opinion: {rule}"]
    assert "Open Second Opinion with the suggested reasons and questions" in page.text


@pytest.mark.parametrize("patient", ["wc-13", "wc-14", "wc-15"])
def test_the_chart_suggests_nothing_for_a_progressing_case_or_mmi(sandbox: Sandbox, patient: str) -> None:
    page, seconds = open_chart(sandbox, patient)
    assert page.status_code == 200 and seconds < 2.0
    assert "nothing to suggest" in status(page) and summaries(page) == []


def launch_from_card(sandbox: Sandbox, page: requests.Response) -> tuple[requests.Session, requests.Response]:
    hidden = form_fields(page.text).hidden
    browser = browser_session()
    composer = browser.post(
        f"{sandbox.ehr_url}ehr/chart/launch", data={k: hidden[k] for k in FORM_FIELDS}, timeout=30
    )
    assert composer.status_code == 200 and "/compose" in composer.url, composer.text[:500]
    return browser, composer


def test_the_cards_launch_opens_the_composer_filled_in(sandbox: Sandbox, flask_app: Flask) -> None:
    page, _ = open_chart(sandbox, "wc-11")
    card = form_fields(page.text).hidden["card"]
    _, composer = launch_from_card(sandbox, page)
    fields = form_fields(composer.text)
    assert (
        'id="stuck-case-suggestion"' in composer.text and "suggested by the stuck-case check" in composer.text
    )
    assert fields.textareas["question"] == [QUESTION_BY_TOPIC[t] for t in ("Diagnosis", "Work restrictions")]
    assert fields.checked["reason"] == ["Condition/wc-11-cond-1"]
    with flask_app.app_context(), services().store.transaction() as db:
        (row,) = db.scalars(select(CardFeedback).where(CardFeedback.card_uuid == card)).all()
        assert (row.outcome, row.accepted_suggestions) == ("accepted", 1)


def test_after_the_referral_is_sent_the_chart_no_longer_suggests_one(sandbox: Sandbox) -> None:
    page, _ = open_chart(sandbox, "wc-16")  # no other test expects wc-16 to be stuck
    assert summaries(page), status(page)
    browser, composer = launch_from_card(sandbox, page)
    fields = form_fields(composer.text)
    data = referral_form(
        composer.text, question=fields.textareas["question"], reason=fields.checked["reason"]
    )
    sent = browser.post(composer.url.replace("/compose", "/referrals"), data=data, timeout=30)
    assert sent.status_code == 200 and "Referral sent" in sent.text
    after, seconds = open_chart(sandbox, "wc-16")
    assert "nothing to suggest" in status(after) and seconds < 2.0


def test_dismissing_a_card_records_the_override_reason(sandbox: Sandbox, flask_app: Flask) -> None:
    page, _ = open_chart(sandbox, "wc-10")
    fields = form_fields(page.text)
    reason = next(
        o.value for o in fields.selects[next(iter(fields.selects))] if o.value.endswith("|progressing")
    )
    data = {k: fields.hidden[k] for k in ("csrf_token", "practitioner", "patient", "service", "card")}
    back = requests.post(f"{sandbox.ehr_url}ehr/chart/dismiss", data={**data, "reason": reason}, timeout=30)
    assert back.status_code == 200 and "/ehr/chart" in back.url
    with flask_app.app_context(), services().store.transaction() as db:
        (row,) = db.scalars(select(CardFeedback).where(CardFeedback.card_uuid == data["card"])).all()
        assert (row.outcome, row.override_reason) == ("overridden", "progressing")


@pytest.mark.parametrize(
    ("order", "shown"),
    [
        (
            "Independent medical examination (IME)",
            "Consider a second opinion: an IME answers the insurer&#39;s questions",
        ),
        ("Physical therapy, 6 visits", "Nothing to suggest for this order."),
    ],
)
def test_the_order_form_shows_the_order_hooks_card(sandbox: Sandbox, order: str, shown: str) -> None:
    page, _ = open_chart(sandbox, "wc-13")  # progressing: the chart itself suggests nothing
    hidden = form_fields(page.text).hidden
    data = {k: hidden[k] for k in ("csrf_token", "practitioner", "patient")} | {"order": order}
    answer = requests.post(f"{sandbox.ehr_url}ehr/chart/order", data=data, timeout=30)
    assert answer.status_code == 200 and shown in answer.text


def test_a_chart_form_from_elsewhere_is_refused(sandbox: Sandbox) -> None:
    page, _ = open_chart(sandbox, "wc-10")
    hidden = form_fields(page.text).hidden
    forged = {**{k: hidden[k] for k in FORM_FIELDS}, "csrf_token": "forged"}
    assert requests.post(f"{sandbox.ehr_url}ehr/chart/launch", data=forged, timeout=30).status_code == 400
    elsewhere = {**{k: hidden[k] for k in FORM_FIELDS}, "url": "https://attacker.example/launch"}
    assert requests.post(f"{sandbox.ehr_url}ehr/chart/launch", data=elsewhere, timeout=30).status_code == 400
