"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from werkzeug.wrappers import Response

from smart_app.services import services

bp = Blueprint("home", __name__)


@bp.get("/")
def home() -> str:
    """What the app is, and the EHRs it can be signed in to directly."""
    registrations = sorted(services().registrations.values(), key=lambda r: r.name)
    return render_template("home.html", registrations=registrations)


@bp.get("/healthz")
def health() -> dict[str, str]:
    """Liveness for process managers and tests."""
    return {"status": "ok"}


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The app's public keys, which receivers and EHRs use to verify its client assertions."""
    response = jsonify(services().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
