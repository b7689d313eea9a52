"""The physician's side against the sandbox clinic's real FHIR server: worklist, ownership, steps, signing."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from pypdf import PdfReader

from fhir_mappings.incoming import AnsweringPhysician
from fhir_mappings.opinion_rules import OpinionDraft, OpinionIncomplete
from fhir_mappings.task_workflow import accepted_task
from smart_app.answering.clinic import load_physician
from smart_app.answering.referral import load_referral
from smart_app.answering.signing import Signing, sign
from smart_app.answering.steps import take_step
from smart_app.answering.worklist import load_worklist
from smart_app.chart.fhir_client import FhirClient, VersionConflict
from smart_app.errors import ReferralChanged, ReferralNotFound
from tests.clinic_referral import NS, deliver
from tests.sandbox_server import Sandbox

QUESTIONS = [
    "Is the working diagnosis of lumbar strain correct?",
    "What treatment would move her toward MMI?",
]
NOW = datetime(2026, 12, 6, 19, 5, tzinfo=UTC)
DENVER = ZoneInfo("America/Denver")
OPINION = OpinionDraft(
    ["Yes: lumbar strain, no radiculopathy.", "Six more weeks of physical therapy."],
    {"mmi": "not-reached", "mmi_expected": "6 to 8 weeks", "work_relatedness": "work-related",
     "work_restrictions": "No lifting over 20 lb.", "treatment": "Physical therapy twice a week.",
     "summary": "Work-related lumbar strain, improving; not at MMI."},
)  # fmt: skip


@pytest.fixture
def clinic(sandbox: Sandbox) -> FhirClient:
    """A client at the clinic with a system token (the launch's token is tested through the pages)."""
    session = sandbox.admin_session(clinic=True)
    token = str(session.headers["Authorization"]).removeprefix("Bearer ")
    return FhirClient(requests.Session(), sandbox.clinic_fhir_base, token, 10.0)


def _physician(clinic: FhirClient, practitioner: str) -> AnsweringPhysician:
    return load_physician(clinic, f"Practitioner/{practitioner}")


def _accept(clinic: FhirClient, physician: AnsweringPhysician, task_id: str) -> None:
    step = lambda task: accepted_task(task, "2026-12-06T19:05:00Z", NS)  # noqa: E731
    take_step(clinic, physician, task_id, NS, step, "accept")


def test_the_worklist_holds_the_physicians_tasks_only(clinic: FhirClient, sandbox: Sandbox) -> None:
    mine = deliver(sandbox, QUESTIONS, owner="so-1")
    theirs = deliver(sandbox, QUESTIONS, owner="so-2")
    chen = _physician(clinic, "so-1-prac")
    assert "PractitionerRole/so-1" in chen.owners and chen.name.startswith("Dr. Riley Chen")
    rows = load_worklist(clinic, chen, NS, NOW.date())
    ids = [row.task_id for row in rows]
    assert mine.task_id in ids and theirs.task_id not in ids
    row = next(row for row in rows if row.task_id == mine.task_id)
    assert (row.patient, row.status_words, row.visit_type) == ("Rosa Quintana", "New", "Not stated")
    with pytest.raises(ReferralNotFound):
        load_referral(clinic, chen, theirs.task_id, NS, NOW.date())
    with pytest.raises(ReferralNotFound):
        load_referral(clinic, chen, "no-such-task", NS, NOW.date())


def test_a_step_writes_with_the_version_read(clinic: FhirClient, sandbox: Sandbox) -> None:
    delivered = deliver(sandbox, QUESTIONS, owner="so-1")
    chen = _physician(clinic, "so-1-prac")
    stale = clinic.read("Task", delivered.task_id)
    _accept(clinic, chen, delivered.task_id)
    assert clinic.read("Task", delivered.task_id)["status"] == "accepted"
    with pytest.raises(ReferralChanged, match="already accepted"):
        take_step(clinic, chen, delivered.task_id, NS, lambda task: accepted_task(task, "x", NS), "accept")
    with pytest.raises(VersionConflict):
        clinic.update({**stale, "status": "rejected"}, if_match=stale["meta"]["versionId"])


def test_signing_completes_the_task_with_a_pdf_letter_and_a_signature(
    clinic: FhirClient, sandbox: Sandbox
) -> None:
    delivered = deliver(sandbox, QUESTIONS, owner="so-1")
    chen = _physician(clinic, "so-1-prac")
    _accept(clinic, chen, delivered.task_id)
    signing = Signing(clinic, chen, delivered.task_id, NS, NOW, DENVER)
    with pytest.raises(OpinionIncomplete):
        sign(signing, OpinionDraft(["only one"], {}))
    letter = sign(signing, OPINION)
    assert sign(signing, OPINION) == letter  # a double submit finds the signed opinion
    task = clinic.read("Task", delivered.task_id)
    assert task["status"] == "completed"
    codes = [o["type"]["coding"][0]["code"] for o in task["output"]]
    assert codes == ["answer", "answer", "mmi", "mmi-expected", "work-relatedness", "work-restrictions",
                     "treatment", "summary", "opinion"]  # fmt: skip
    assert task["output"][-1]["valueReference"]["reference"] == letter
    document = clinic.read("DocumentReference", letter.split("/")[1])
    assert document["type"]["coding"][0]["code"] == "11488-4"
    assert document["author"][0]["reference"] == "Practitioner/so-1-prac"
    pdf = PdfReader(io.BytesIO(base64.b64decode(document["content"][0]["attachment"]["data"])))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Not yet at MMI" in text and QUESTIONS[0] in text and "opinion only" in text
    provenances = clinic.search("Provenance", {"target": f"Task/{delivered.task_id}"})
    [provenance] = [e["resource"] for e in provenances.get("entry", [])]
    assert provenance["agent"][0]["who"]["reference"] == "Practitioner/so-1-prac"
    assert provenance["signature"][0]["type"][0]["code"] == "1.2.840.10065.1.12.1.1"


def test_the_signed_letter_keeps_a_name_outside_latin_1(clinic: FhirClient, sandbox: Sandbox) -> None:
    """Defect: the letter drew with a Latin-1 core font, so "Nguyễn" printed as "Nguy?n"."""
    name = {"family": "Nguyễn", "given": ["Thị", "Ngọc", "Ánh"]}
    delivered = deliver(sandbox, QUESTIONS, owner="so-1", name=name)
    chen = _physician(clinic, "so-1-prac")
    _accept(clinic, chen, delivered.task_id)
    letter = sign(Signing(clinic, chen, delivered.task_id, NS, NOW, DENVER), OPINION)
    document = clinic.read("DocumentReference", letter.split("/")[1])
    pdf = PdfReader(io.BytesIO(base64.b64decode(document["content"][0]["attachment"]["data"])))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Patient: Thị Ngọc Ánh Nguyễn (born 1984-03-12)" in text
