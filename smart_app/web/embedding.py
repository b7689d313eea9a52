"""Fitting into the EHR's page: its patient banner and its styling.

``need_patient_banner`` false means the EHR shows its own banner
(scopes-and-launch-context.html#launch-context-arrives-with-your-access_token):
the compose page then keeps only a compact line with the patient's name.
``smart_style_url`` (app-launch.html#customizing-an-apps-look-and-feel) is
fetched server-side, only from an origin the registration allows, with a
timeout and a size limit, cached, and reduced to values that match strict
patterns; they reach the page as our own CSS variables in a generated
stylesheet (CSP forbids inline styles, and the EHR's text is never injected raw).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Response

from smart_app.config import Registration
from smart_app.services import services
from smart_app.store import Launch
from smart_app.ttl_cache import TtlCache
from smart_app.web.guard import current_launch, protect

logger = logging.getLogger(__name__)
bp = Blueprint("embedding", __name__)
protect(bp, roles=("atp", "physician"))  # the EHR's style serves both roles

MAX_STYLE_BYTES = 16 * 1024
STYLE_CACHE_SECONDS = 3600
_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|rgba?\(\s*[0-9.]{1,5}%?(\s*,\s*[0-9.]{1,5}%?){2,3}\s*\)")
_DIMENSION = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?(px|rem|em)")
_FONT = re.compile(r"[A-Za-z0-9 ,\-'\"]{1,120}")
STYLE_FIELDS = {  # SMART style property → (our CSS variable, pattern its value must fullmatch)
    "color_background": ("--ehr-color-background", _COLOR),
    "color_error": ("--ehr-color-error", _COLOR),
    "color_highlight": ("--ehr-color-highlight", _COLOR),
    "color_success": ("--ehr-color-success", _COLOR),
    "color_text": ("--ehr-color-text", _COLOR),
    "dim_border_radius": ("--ehr-border-radius", _DIMENSION),
    "dim_font_size": ("--ehr-font-size", _DIMENSION),
    "font_family_body": ("--ehr-font-body", _FONT),
    "font_family_heading": ("--ehr-font-heading", _FONT),
}
RULES = (  # (selector, property, variable): applied only when the EHR gave that variable
    ("body", "background-color", "--ehr-color-background"),
    ("body", "color", "--ehr-color-text"),
    ("body", "font-size", "--ehr-font-size"),
    ("body", "font-family", "--ehr-font-body"),
    ("h1, h2, h3", "font-family", "--ehr-font-heading"),
    (".banner", "border-left-color", "--ehr-color-highlight"),
    ("button.primary", "background-color", "--ehr-color-highlight"),
    ("button, select, textarea, .banner", "border-radius", "--ehr-border-radius"),
    (".field-error", "color", "--ehr-color-error"),
)
_styles: TtlCache[dict[str, str]] = TtlCache(STYLE_CACHE_SECONDS)


def launch_context(launch: Launch) -> dict[str, object]:
    """The launch context the token response carried (need_patient_banner, smart_style_url, …)."""
    context = json.loads(launch.context_json or "{}")
    return context if isinstance(context, dict) else {}


def needs_patient_banner(launch: Launch) -> bool:
    """False only when the EHR said so: it shows its own banner; absent means we show ours."""
    return launch_context(launch).get("need_patient_banner") is not False


def has_ehr_style(launch: Launch) -> bool:
    """Whether the EHR named a style document for this launch."""
    return isinstance(launch_context(launch).get("smart_style_url"), str)


def allowed_style_url(url: str, registration: Registration) -> bool:
    """The style document must come from the iss origin or a registered framing origin."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    allowed = {_origin(u) for u in (registration.iss, *registration.frame_ancestors)}
    return parts.scheme in ("http", "https") and origin in allowed


def safe_style(document: object) -> dict[str, str]:
    """Our CSS variables for the SMART style values that match their strict patterns."""
    if not isinstance(document, dict):
        return {}
    found: dict[str, str] = {}
    for name, (variable, pattern) in STYLE_FIELDS.items():
        value = document.get(name)
        if isinstance(value, str) and pattern.fullmatch(value.strip()):
            found[variable] = value.strip()
    return found


def stylesheet(variables: dict[str, str]) -> str:
    """A small stylesheet: the variables, and the rules that use the ones given."""
    lines = [":root {", *(f"  {name}: {value};" for name, value in sorted(variables.items())), "}"]
    lines += [f"{selector} {{ {prop}: var({variable}); }}"
              for selector, prop, variable in RULES if variable in variables]
    return "\n".join(lines) + "\n"


@bp.get("/ehr-style.css")
def ehr_style() -> Response:
    """The EHR's styling for this launch as a stylesheet of safe values (empty when there is none)."""
    launch = current_launch()
    url = launch_context(launch).get("smart_style_url")
    variables: dict[str, str] = {}
    if isinstance(url, str):
        registration = services().registration_for(launch.iss)
        if allowed_style_url(url, registration):
            try:
                variables = _styles.get(url, _fetch_style)
            except StyleUnavailable:
                variables = {}  # not cached: the next page tries again
        else:
            logger.warning("style.refused registration=%s reason=origin", registration.key)
    response = Response(stylesheet(variables), mimetype="text/css")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


class StyleUnavailable(Exception):
    """The EHR's style document could not be read; the app keeps its own look."""


def _fetch_style(url: str) -> dict[str, str]:
    """GET the style document (no redirects, timeout, size limit); StyleUnavailable otherwise."""
    svc = services()
    try:
        with svc.http.for_url(url).get(url, timeout=svc.http.timeout, allow_redirects=False,
                                       stream=True, headers={"Accept": "application/json"}) as answer:
            body = answer.raw.read(MAX_STYLE_BYTES + 1, decode_content=True)
            if answer.status_code != 200 or len(body) > MAX_STYLE_BYTES:
                logger.warning("style.unavailable status=%s", answer.status_code)
                raise StyleUnavailable(url)
            return safe_style(json.loads(body))
    except (requests.RequestException, ValueError) as error:
        logger.warning("style.unavailable reason=%s", type(error).__name__)
        raise StyleUnavailable(url) from error


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
