"""The EHR front page: pick an ATP and a patient, then "Launch Second Opinion" (EHR launch).

https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-ehr-launch
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request

from .auth_store import LaunchContext
from .seed_cases import case_workers, clinic_today
from .seed_directory import ATPS, display_name
from .seed_patients import WORKERS
from .services import services

bp = Blueprint("front_page", __name__)

SMART_STYLE = {
    "color_background": "#f4f6f8",
    "color_error": "#9e2d2d",
    "color_highlight": "#1f6f8b",
    "color_modal_backdrop": "rgba(0, 0, 0, 0.4)",
    "color_success": "#2e7d32",
    "color_text": "#1b1b1b",
    "dim_border_radius": "4px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, sans-serif",
    "font_family_heading": "system-ui, sans-serif",
}


def practitioner_choices() -> list[tuple[str, str]]:
    """(id, label) of the ATPs who can launch the app."""
    return [(doc.prac_id, display_name(doc)) for doc in ATPS]


def patient_choices() -> list[tuple[str, str]]:
    """(id, "Family, Given (DOB …)") of the seeded patients."""
    workers = (*WORKERS, *case_workers(clinic_today()))  # wc-10…: the stuck-case seeds
    return [(w.id, f"{w.family}, {w.given} (DOB {w.birth_date})") for w in workers]


@bp.get("/")
def index() -> str:
    """The front page."""
    return render_template("front.html", practitioners=practitioner_choices(),
                           patients=patient_choices(), framed=services().settings.app_framed)


@bp.post("/ehr/launch")
def launch() -> Any:
    """Create a launch id for the chosen ATP and patient and send the browser to the app."""
    practitioner = request.form.get("practitioner", "")
    patient = request.form.get("patient", "")
    if practitioner not in dict(practitioner_choices()) or patient not in dict(patient_choices()):
        abort(400, "Choose a practitioner and a patient from the lists.")
    svc = services()
    context = LaunchContext(practitioner, patient, latest_encounter(svc.fhir, patient),
                            **launch_options(request.form))
    launch_id = svc.store.create_launch(context)
    query = urlencode({"iss": svc.settings.fhir_base, "launch": launch_id})
    separator = "&" if "?" in svc.settings.app_launch_url else "?"
    return redirect(f"{svc.settings.app_launch_url}{separator}{query}", code=302)


def launch_options(form: Any) -> dict[str, Any]:
    """Test options: token lifetimes, declined scopes, the EHR's own banner (banner=0)."""
    options: dict[str, Any] = {}
    for name in ("token_ttl", "refresh_ttl"):
        value = form.get(name, "")
        if value.isascii() and value.isdigit() and int(value) <= 86400:  # "²".isdigit() is true
            options[name] = int(value)
    options["withhold"] = tuple(form.get("withhold", "").split())
    options["need_patient_banner"] = form.get("banner", "1") != "0"
    return options


@bp.post("/ehr/sign-out")
def sign_out() -> Response:
    """The practitioner signs out of the EHR: their refresh tokens stop working."""
    practitioner = request.form.get("practitioner", "")
    if practitioner not in dict(practitioner_choices()):
        abort(400, "Choose a practitioner from the list.")
    return jsonify({"revoked": services().store.revoke_refresh(practitioner)})


@bp.get("/smart-style.json")
def smart_style() -> Response:
    """The SMART style document named by `smart_style_url` (context-style)."""
    return jsonify(SMART_STYLE)


def latest_encounter(fhir: Any, patient: str) -> str | None:
    """The id of the patient's most recent Encounter, if any."""
    params = [("patient", patient), ("_sort", "-date"), ("_count", "1")]
    bundle = fhir.search("Encounter", params).body or {}
    entries = bundle.get("entry") or []
    return str(entries[0]["resource"]["id"]) if entries else None
