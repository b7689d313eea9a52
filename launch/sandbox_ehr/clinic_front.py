"""The receiving clinic's front page: each physician launches Second Opinion (EHR launch).

The clinic's EHR as its second-opinion physicians see it: one "Launch Second Opinion" form
per physician, and their referral Tasks read-only (an in-basket), each with its own launch
that names the Task in `fhirContext`. No patient is in context: the physician works across
patients. Answering is the app's job, not this page's.
https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from sekmet.fhir.common import FhirError

from .auth_store import LaunchContext
from .fhir_codes import ACCREDITATION_DISPLAY
from .front_page import SMART_STYLE, launch_options
from .seed_directory import CLINIC_NAMES, CLINICS, DIRECTORY, Physician, display_name
from .services import services

bp = Blueprint("clinic_front", __name__)

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # https://hl7.org/fhir/R4/datatypes.html#id
IN_BASKET_SIZE = 10
UNRELATED = frozenset(c.id for c in CLINICS if not c.related)
PHYSICIANS = tuple(doc for doc in DIRECTORY if doc.org_id in UNRELATED)


@dataclass(frozen=True)
class Referral:
    """One line of a physician's in-basket."""

    task_id: str
    status: str
    authored_on: str
    patient: str
    requester: str


def accreditation(doc: Physician, today: str) -> str:
    """The physician's DOWC accreditation in words, saying when it has ended."""
    if doc.accreditation is None:
        return "Not accredited"
    label = ACCREDITATION_DISPLAY[doc.accreditation]
    return f"{label}, ended {doc.accreditation_end}" if doc.accreditation_end < today else label


def physician_choices() -> tuple[tuple[str, str], ...]:
    """(Practitioner id, "Dr. …, MD (clinic)") of the physicians who may sign in."""
    return tuple((doc.prac_id, f"{display_name(doc)} ({CLINIC_NAMES[doc.org_id]})")
                 for doc in PHYSICIANS)


def find_physician(value: str) -> Physician | None:
    """The clinic's physician by PractitionerRole id (`so-1`) or Practitioner id (`so-1-prac`)."""
    return next((doc for doc in PHYSICIANS if value in (doc.role_id, doc.prac_id)), None)


@bp.get("/")
def index() -> str:
    """The front page: every physician with their launch form and their referrals."""
    today = date.today().isoformat()
    rows = [(doc, display_name(doc), CLINIC_NAMES[doc.org_id], accreditation(doc, today),
             in_basket(doc)) for doc in PHYSICIANS]
    return render_template("clinic_front.html", physicians=rows)


@bp.post("/ehr/launch")
def launch() -> Any:
    """Create a launch for the chosen physician (and Task) and send the browser to the app."""
    doc = find_physician(request.form.get("practitioner", ""))
    if doc is None:
        abort(400, "Choose one of the clinic's physicians.")
    task = request.form.get("task", "").strip()
    if task and not _task_exists(task):
        abort(400, "There is no referral Task with this id at the clinic.")
    svc = services()
    options = {**launch_options(request.form), "need_patient_banner": False}
    context = LaunchContext(doc.prac_id, fhir_context=(f"Task/{task}",) if task else (),
                            **options)
    query = urlencode({"iss": svc.settings.clinic_fhir_base,
                       "launch": svc.store.create_launch(context)})
    separator = "&" if "?" in svc.settings.app_launch_url else "?"
    return redirect(f"{svc.settings.app_launch_url}{separator}{query}", code=302)


@bp.post("/ehr/sign-out")
def sign_out() -> Response:
    """The physician signs out of the clinic's EHR: their refresh tokens stop working."""
    doc = find_physician(request.form.get("practitioner", ""))
    if doc is None:
        abort(400, "Choose one of the clinic's physicians.")
    return jsonify({"revoked": services().store.revoke_refresh(doc.prac_id)})


@bp.get("/smart-style.json")
def smart_style() -> Response:
    """The SMART style document named by `smart_style_url` (context-style)."""
    return jsonify(SMART_STYLE)


def in_basket(doc: Physician) -> list[Referral]:
    """The newest referral Tasks owned by the physician (role or person) or their clinic."""
    owners = f"PractitionerRole/{doc.role_id},Practitioner/{doc.prac_id},Organization/{doc.org_id}"
    params = [("owner", owners), ("_sort", "-authored-on"), ("_count", str(IN_BASKET_SIZE)),
              ("_include", "Task:patient")]
    bundle = services().fhir.search("Task", params).body or {}
    resources = [e.get("resource") or {} for e in bundle.get("entry") or []]
    patients = {f"Patient/{r.get('id')}": r for r in resources
                if r.get("resourceType") == "Patient"}
    return [_referral(r, patients) for r in resources if r.get("resourceType") == "Task"]


def _referral(task: dict[str, Any], patients: dict[str, dict[str, Any]]) -> Referral:
    """The in-basket line of one Task."""
    patient = patients.get(str((task.get("for") or {}).get("reference", "")), {})
    return Referral(task_id=str(task.get("id", "")), status=str(task.get("status", "")),
                    authored_on=str(task.get("authoredOn", ""))[:10],
                    patient=_patient_name(patient),
                    requester=str((task.get("requester") or {}).get("display", "")))


def _patient_name(patient: dict[str, Any]) -> str:
    """'Family, Given' of the first name, or a dash."""
    names = patient.get("name") or [{}]
    name = names[0] if isinstance(names[0], dict) else {}
    given = " ".join(str(g) for g in name.get("given") or [])
    family = str(name.get("family", ""))
    return ", ".join(part for part in (family, given) if part) or str(name.get("text", "")) or "—"


def _task_exists(task_id: str) -> bool:
    """Whether the clinic's store holds this Task (a well-formed id first)."""
    if not FHIR_ID.match(task_id):
        return False
    try:
        return int(services().fhir.read("Task", task_id).status) == 200
    except FhirError:  # 404, or 410 for a deleted Task
        return False
