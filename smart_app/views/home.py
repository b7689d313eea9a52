"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, render_template

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
