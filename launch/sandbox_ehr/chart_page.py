"""The EHR's chart page: opening a chart calls the app's `patient-view` service, shows the cards.

`GET /ehr/chart?practitioner=&patient=` (`&prefetch=0`: no prefetch, a fhirAuthorization token
instead). Each card's SMART link is a launch button: it records the acceptance (feedback),
creates a launch carrying the link's `appContext` and sends the browser to the app's launch
URL. "Dismiss" sends the chosen override reason. The order form sends a draft ServiceRequest
to the app's `order-select` service and shows that card. Forms carry an HMAC token bound to the
practitioner and patient (this process's secret): no other page can post them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as WerkzeugResponse

from .auth_store import LaunchContext
from .cds_client import CdsClient, HookAnswer
from .cds_key import cds_jwks, load_cds_key
from .config import SandboxSettings
from .front_page import latest_encounter, patient_choices, practitioner_choices
from .services import services

bp = Blueprint("chart_page", __name__)
_SECRET = secrets.token_bytes(32)
MAX_ORDER_TEXT = 200


def register(app: Flask, settings: SandboxSettings, fhir: Any, token_secret: Any) -> None:
    """Add the chart page and its CDS client to the EHR's Flask app."""
    app.extensions["sandbox_cds"] = CdsClient(
        settings, fhir, load_cds_key(settings.data_dir), token_secret
    )
    app.register_blueprint(bp)


def _client() -> CdsClient:
    client: CdsClient = current_app.extensions["sandbox_cds"]
    return client


@bp.get("/cds-client/jwks")
def jwks() -> Response:
    """The public key of the sandbox's CDS Hooks JWTs (the app's registration names this URL)."""
    return jsonify(cds_jwks(_client()._key))


@bp.get("/ehr/chart")
def chart() -> str:
    """Open the chart: the patient-view hook and its cards."""
    practitioner, patient = _who(request.args)
    answer = _client().call(
        "patient-view",
        _context(practitioner, patient),
        prefetch=request.args.get("prefetch", "1") != "0",
    )
    return _render(practitioner, patient, answer, None)


@bp.post("/ehr/chart/order")
def order() -> str:
    """Select an order: the order-select hook with one draft ServiceRequest."""
    practitioner, patient = _checked(request.form)
    text = (
        request.form.get("order", "").strip()[:MAX_ORDER_TEXT]
        or "Independent medical examination (IME)"
    )
    draft = {
        "resourceType": "ServiceRequest",
        "id": f"draft-{uuid.uuid4().hex[:12]}",
        "status": "draft",
        "intent": "order",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{patient}"},
    }
    context = {
        **_context(practitioner, patient),
        "selections": [f"ServiceRequest/{draft['id']}"],
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        },
    }
    answer = _client().call("order-select", context)
    return _render(
        practitioner,
        patient,
        _client().call("patient-view", _context(practitioner, patient)),
        (text, answer),
    )


@bp.post("/ehr/chart/launch")
def launch() -> WerkzeugResponse:
    """A card's SMART link: feedback "accepted", then an EHR launch that carries its appContext."""
    practitioner, patient = _checked(request.form)
    url = request.form.get("url", "")
    if url.split("?", 1)[0] != services().settings.app_launch_url.split("?", 1)[0]:
        abort(
            400, "This link does not open the registered app."
        )  # §Trusting CDS Services: allow-list
    _feedback(
        {
            "card": request.form.get("card", ""),
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": request.form.get("suggestion", "")}],
        }
    )
    app_context = request.form.get("app_context") or None
    context = LaunchContext(
        practitioner, patient, latest_encounter(services().fhir, patient), app_context=app_context
    )
    query = urlencode(
        {"iss": services().settings.fhir_base, "launch": services().store.create_launch(context)}
    )
    return redirect(f"{url}{'&' if '?' in url else '?'}{query}", code=303)


@bp.post("/ehr/chart/dismiss")
def dismiss() -> WerkzeugResponse:
    """Dismiss a card: feedback "overridden" with the chosen reason, back to the chart."""
    practitioner, patient = _checked(request.form)
    item: dict[str, Any] = {"card": request.form.get("card", ""), "outcome": "overridden"}
    reason = request.form.get("reason", "")
    if reason:
        system, _, code = reason.rpartition("|")
        item["overrideReason"] = {"reason": {"system": system, "code": code}}
    _feedback(item)
    return redirect(
        f"/ehr/chart?{urlencode({'practitioner': practitioner, 'patient': patient})}", code=303
    )


def _feedback(item: dict[str, Any]) -> None:
    service = request.form.get("service", "")
    if service:
        _client().feedback(service, item)


def _who(values: Any) -> tuple[str, str]:
    practitioner, patient = values.get("practitioner", ""), values.get("patient", "")
    if practitioner not in dict(practitioner_choices()) or patient not in dict(patient_choices()):
        abort(400, "Choose a practitioner and a patient from the lists.")
    return practitioner, patient


def _checked(form: Any) -> tuple[str, str]:
    practitioner, patient = _who(form)
    if not hmac.compare_digest(form.get("csrf_token", ""), _token(practitioner, patient)):
        abort(400, "The form had expired: open the chart again.")
    return practitioner, patient


def _token(practitioner: str, patient: str) -> str:
    return hmac.new(_SECRET, f"{practitioner}\n{patient}".encode(), hashlib.sha256).hexdigest()


def _context(practitioner: str, patient: str) -> dict[str, Any]:
    return {"userId": f"Practitioner/{practitioner}", "patientId": patient}


def _render(
    practitioner: str, patient: str, answer: HookAnswer, ordered: tuple[str, HookAnswer] | None
) -> str:
    services_by_hook = {s.get("hook"): s.get("id") for s in _client().discover()}
    return render_template(
        "chart.html",
        practitioner=practitioner,
        patient=patient,
        patient_label=dict(patient_choices())[patient],
        practitioner_label=dict(practitioner_choices())[practitioner],
        answer=answer,
        ordered=ordered,
        csrf_token=_token(practitioner, patient),
        services=services_by_hook,
        json=json,
    )


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]<>#+!|~])")


@bp.app_template_filter("card_markdown")
def card_markdown(text: str) -> Markup:
    """The little Markdown our cards use (paragraphs, "- " items, **bold**); the rest escaped."""
    blocks = []
    for block in str(text).split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{'<br>'.join(_inline(line) for line in lines)}</p>")
    return Markup("".join(blocks))


def _inline(text: str) -> str:
    """**bold** spans, and GFM backslash escapes shown as the character they escape."""
    out = []
    for part in re.split(r"(\*\*.+?\*\*)", text):
        bold = _BOLD.fullmatch(part)
        plain = escape(_ESCAPED.sub(r"\1", bold[1] if bold else part))
        out.append(f"<strong>{plain}</strong>" if bold else str(plain))
    return "".join(out)
