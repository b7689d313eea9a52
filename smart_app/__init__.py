"""Second Opinion: a SMART on FHIR app for an ATP's second-opinion referral in workers' comp.

``flask --app smart_app run`` serves it with settings from ``SMART_APP_*``
environment variables (see ``smart_app.config``).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response

from smart_app.config import Settings, load_registrations
from smart_app.errors import register_error_handlers
from smart_app.http_pool import HttpPool
from smart_app.services import Services
from smart_app.sessions import Sessions
from smart_app.smart.discovery import Discovery
from smart_app.smart.id_token import KeySets
from smart_app.store import Store


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings and registrations are read and checked here, once."""
    settings = settings or Settings()
    registrations = load_registrations(settings.registrations)
    _quiet_noisy_loggers()
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024, TEMPLATES_AUTO_RELOAD=False)
    store = Store(settings.database_url)
    store.create_schema()
    http = HttpPool(settings.http_timeout_seconds)
    app.extensions["second_opinion"] = Services(
        settings=settings,
        registrations=registrations,
        store=store,
        http=http,
        discovery=Discovery(http),
        key_sets=KeySets(http),
        sessions=Sessions(store, settings),
    )
    from smart_app.views import compose, home, launch

    app.register_blueprint(home.bp)
    app.register_blueprint(launch.bp)
    app.register_blueprint(compose.bp)
    register_error_handlers(app)
    frame_ancestors = " ".join(sorted({_origin(iss) for iss in registrations}))
    app.after_request(lambda response: _secure_headers(response, frame_ancestors, settings))
    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _secure_headers(response: Response, frame_ancestors: str, settings: Settings) -> Response:
    """Strict headers on every answer; pages with PHI are never cached."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self' {frame_ancestors}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers.setdefault("Cache-Control", "no-store")
    if settings.public_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


def _quiet_noisy_loggers() -> None:
    """authlib logs PKCE verifiers at DEBUG; urllib3 and werkzeug log URLs with their queries."""
    for name in ("authlib", "urllib3", "requests", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
