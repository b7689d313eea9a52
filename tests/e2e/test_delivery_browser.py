"""The closed loop in Debian's chromium: send, the clinic answers each question, the ATP reads the answers."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from smart_app.config import Settings
from tests.e2e.conftest import choose_physician
from tests.integration.test_delivery_loop import Worker, clinic_sets, search
from tests.sandbox_server import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_app")]

QUESTIONS = ["Is the working diagnosis correct?", "What treatment would move her toward MMI?"]
ANSWERS = ["Yes: lumbar strain fits the findings.", "Eight more weeks of physical therapy, then re-rate."]


def _send(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.ehr_url)
    page.get_by_label("Practitioner").select_option("atp-1")
    page.get_by_label("Patient").select_option("wc-1")
    page.get_by_role("button", name="Launch Second Opinion").click()
    page.get_by_role("group", name="Reason for referral").get_by_role("checkbox").first.check()
    page.get_by_label("Question 1", exact=True).fill(QUESTIONS[0])
    page.get_by_role("button", name="Add question").click()
    page.get_by_label("Question 2", exact=True).fill(QUESTIONS[1])
    page.get_by_label("Visit type").select_option(label="Telehealth")
    page.get_by_label("First day").fill((date.today() + timedelta(days=1)).isoformat())
    page.get_by_label("Last day").fill((date.today() + timedelta(days=10)).isoformat())
    choose_physician(page, "PractitionerRole/so-1")  # Level II, unrelated
    page.get_by_role("button", name="Send referral").click()
    expect(page.get_by_role("heading", name="Referral sent")).to_be_visible()


def _clinic_answers(sandbox: Sandbox, ns: str, referral_id: str) -> None:
    """The clinic accepts, answers each question and attaches its letter, over FHIR REST."""
    clinic, base = sandbox.admin_session(clinic=True), sandbox.clinic_fhir_base
    [task] = search(clinic, base, "Task", f"{ns}/sid/referral", referral_id)
    task = clinic_sets(clinic, base, task, status="accepted")
    letter = {"contentType": "text/plain", "data": base64.b64encode(b"Letter").decode(), "title": "Letter"}
    document = clinic.post(
        f"{base}/DocumentReference",
        json={"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": letter}]},
        headers={"Content-Type": "application/fhir+json"},
    ).json()
    io = f"{ns}/CodeSystem/task-io"
    outputs = [{"type": {"coding": [{"system": io, "code": "answer"}]}, "valueString": a} for a in ANSWERS]
    reference = {"reference": f"DocumentReference/{document['id']}"}
    outputs.append({"type": {"coding": [{"system": io, "code": "opinion"}]}, "valueReference": reference})
    clinic_sets(clinic, base, task, status="completed", output=outputs)


def test_the_atp_reads_each_answer_under_its_question(
    page: Page, sandbox: Sandbox, flask_app: Flask, app_settings: Settings
) -> None:
    _send(page, sandbox)  # the referral's one page, with the "Referral sent" notice
    referral_id = page.url.split("/referrals/")[1].split("?")[0]
    worker = Worker(flask_app)
    worker.run()
    page.reload()
    expect(page.locator(".state")).to_have_text("Delivered to the receiving clinic")
    _clinic_answers(sandbox, app_settings.namespace, referral_id)
    worker.run()
    page.reload()
    expect(page.locator(".state")).to_have_text("Answered and filed")
    items = page.locator("ol.answers > li")
    expect(items).to_have_count(2)
    for index, (question, answer) in enumerate(zip(QUESTIONS, ANSWERS, strict=True)):
        expect(items.nth(index).locator(".question")).to_have_text(question)
        expect(items.nth(index).locator(".answer")).to_have_text(answer)
    expect(page.get_by_text("Opinion filed to the patient's chart")).to_be_visible()
    page.get_by_role("link", name="All your referrals").click()
    expect(page.get_by_role("heading", name="Your referrals")).to_be_visible()
    [filed] = search(
        sandbox.admin_session(), sandbox.fhir_base, "DocumentReference",
        f"{app_settings.namespace}/sid/referral", referral_id,
    )  # fmt: skip
    assert filed["context"]["related"][0]["reference"].startswith("ServiceRequest/")
