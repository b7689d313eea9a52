"""Second Opinion: a SMART on FHIR app for an ATP's second-opinion referral in workers' comp.

``flask --app smart_app run`` serves it with settings from ``SMART_APP_*``
environment variables (see ``smart_app.config``). Its commands (``deliver``,
``purge``, ``smoke``) are in ``smart_app.commands``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import ExitStack
from urllib.parse import urlsplit

from flask import Flask, Response, before_render_template, g

from smart_app.config import (
    ConfigError,
    Registration,
    Settings,
    load_registrations,
    settings_from_environment,
)
from smart_app.crypto import DataKeyError, DataKeys
from smart_app.errors import register_error_handlers
from smart_app.http_pool import HttpPool
from smart_app.keys import KeyFileError, KeyRing
from smart_app.launches import Launches
from smart_app.referrals.form import MAX_FORM_BYTES
from smart_app.referrals.receivers import load_receivers
from smart_app.services import Services
from smart_app.smart.backend_services import BackendTokens
from smart_app.smart.discovery import Discovery
from smart_app.smart.id_token import KeySets
from smart_app.store import Store, release_unit


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: settings and registrations are read and checked here, once."""
    settings = settings or settings_from_environment()
    registrations = load_registrations(settings.registrations)
    receivers = load_receivers(settings.receivers)
    try:
        keys = KeyRing.from_files(settings.signing_key_paths)
        data_keys = DataKeys.parse(settings.data_keys)
    except (KeyFileError, DataKeyError) as error:
        raise ConfigError(str(error)) from error
    if keys.current is None and any(r.client_auth == "private_key_jwt" for r in registrations.values()):
        raise ConfigError("a registration uses private_key_jwt: set SMART_APP_SIGNING_KEY_FILES")
    _quiet_noisy_loggers()
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, TEMPLATES_AUTO_RELOAD=False)
    store = Store(settings.database_url, data_keys)
    store.create_schema()
    http = HttpPool(settings.http_timeout_seconds)
    app.extensions["second_opinion"] = Services(
        settings=settings,
        registrations=registrations,
        store=store,
        http=http,
        discovery=Discovery(http),
        key_sets=KeySets(http),
        launches=Launches(store, settings),
        keys=keys,
        receivers=receivers,
        backend_tokens=BackendTokens(http.for_url, settings.http_timeout_seconds),
    )
    from smart_app.web import (
        answering,
        cds,
        clients,
        compose,
        documents,
        embedding,
        guard,
        home,
        hooks,
        launch,
        open_server,
        referral_actions,
        referrals,
    )
    from smart_app.web.times import register_time_filters

    app.register_blueprint(home.bp)
    app.register_blueprint(launch.bp)
    app.register_blueprint(open_server.bp)
    app.register_blueprint(hooks.bp)
    app.register_blueprint(cds.bp)  # CDS Hooks: /cds-services
    for blueprint in (compose.bp, documents.bp, embedding.bp, referrals.bp, referral_actions.bp,
                      answering.bp):  # fmt: skip
        app.register_blueprint(blueprint, url_prefix=guard.URL_PREFIX)
    register_error_handlers(app)
    clients.register_smart_errors(app)
    guard.register_pages(app)
    register_time_filters(app)
    _one_unit_per_request(app, store)
    frame_ancestors = " ".join(sorted(_frame_ancestors(registrations.values())))
    app.after_request(lambda response: _secure_headers(response, frame_ancestors, settings))
    return app


def _one_unit_per_request(app: Flask, store: Store) -> None:
    """Each request's reads and first write share one transaction (``Store.request_unit``)."""

    def open_unit() -> None:
        stack = ExitStack()
        stack.enter_context(store.request_unit())
        g.database_unit = stack

    def close_unit(_error: BaseException | None) -> None:
        stack = g.pop("database_unit", None)
        if stack is not None:
            stack.close()

    app.before_request(open_unit)
    app.teardown_request(close_unit)
    # a page is rendered from rows already read: the connection goes back to the pool first
    before_render_template.connect(lambda _app, **_extra: release_unit(), app, weak=False)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _frame_ancestors(registrations: Iterable[Registration]) -> set[str]:
    """CSP ``frame-ancestors``: each EHR's listed origins, else its iss origin (open servers never frame)."""
    return {_origin(url) for r in registrations if not r.open_server
            for url in (r.frame_ancestors or (r.iss,))}


def _secure_headers(response: Response, frame_ancestors: str, settings: Settings) -> Response:
    """Strict headers on every answer; pages with PHI are never cached."""
    response.headers.setdefault(  # a view serving someone else's file sets a stricter one
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self' {frame_ancestors}",
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
    """authlib logs PKCE verifiers at DEBUG; urllib3 and werkzeug log URLs with their queries;
    fpdf2 names a font's missing glyphs (the letters of a patient's name) in a warning."""
    for name in ("authlib", "urllib3", "requests", "werkzeug"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("fpdf").setLevel(logging.ERROR)  # its warnings quote the letters of a name
