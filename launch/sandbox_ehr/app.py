"""ASGI composition of the EHR server: our discovery document, the scope gateway in front of
sekmet's /fhir, sekmet's admin token endpoint, and the Flask app for everything else.
"""

from __future__ import annotations

from typing import cast

from a2wsgi import WSGIMiddleware

from .clinic_web import create_clinic_web_app
from .config import SandboxSettings
from .fhir_servers import FhirServer
from .gateway import AsgiApp, Receive, Scope, ScopeGateway, Send, send_outcome
from .open_fhir import OPEN_PREFIX, OpenFhir
from .web import create_web_app

# ours, and must win over sekmet's own discovery document at the same paths
DISCOVERY_PATHS = ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration")
SEKMET_TOKEN_PATH = "/auth/token"  # client_credentials for sandbox-admin
# the clinic exposes FHIR, SMART Backend Services and discovery; not sekmet's unauthenticated /ui
CLINIC_PATHS = ("/fhir", SEKMET_TOKEN_PATH, "/.well-known")
INBOX_PATH = "/inbox"  # the clinic's sandbox-only inbox page


class EhrDispatcher:
    """Routes each request by path; lifespan events go to sekmet."""

    def __init__(self, web: AsgiApp, fhir: AsgiApp, sekmet: AsgiApp, open_fhir: AsgiApp) -> None:
        self.web = web
        self.fhir = fhir
        self.sekmet = sekmet
        self.open_fhir = open_fhir

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection."""
        if scope["type"] == "lifespan":
            await self.sekmet(scope, receive, send)
            return
        await self._route(scope["path"])(scope, receive, send)

    def _route(self, path: str) -> AsgiApp:
        """Pick the app that owns this path."""
        if path in DISCOVERY_PATHS:
            return self.web
        if path == "/fhir" or path.startswith("/fhir/"):
            return self.fhir
        if path == SEKMET_TOKEN_PATH:
            return self.sekmet
        if path == OPEN_PREFIX or path.startswith(f"{OPEN_PREFIX}/"):
            return self.open_fhir
        return self.web


def create_ehr_asgi(settings: SandboxSettings, ehr: FhirServer) -> EhrDispatcher:
    """The whole EHR server as one ASGI app."""
    # a2wsgi types the ASGI protocol with TypedDicts; ours are plain mappings
    web = cast(AsgiApp, WSGIMiddleware(create_web_app(settings, ehr)))  # type: ignore[arg-type]
    store = ehr.ctx.store

    def lookup(resource_type: str, resource_id: str) -> dict[str, object] | None:
        try:
            found: dict[str, object] | None = store.read(resource_type, resource_id)
        except Exception:  # sekmet raises FhirError(410) for deleted resources
            return None
        return found

    gateway = ScopeGateway(ehr.app, ehr.token_secret, settings.fhir_base, lookup)
    open_fhir = OpenFhir(ehr.app, ehr.token_secret, settings.fhir_base)
    return EhrDispatcher(web, gateway, ehr.app, open_fhir)


class PathAllowList:
    """Answers 404 for every path outside the allowed prefixes; `/inbox` goes to the inbox app."""

    def __init__(self, app: AsgiApp, prefixes: tuple[str, ...], inbox: AsgiApp | None = None
                 ) -> None:
        self.app = app
        self.prefixes = prefixes
        self.inbox = inbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward allowed paths (and lifespan events) to the app."""
        path = scope.get("path", "")
        if scope["type"] != "lifespan" and self.inbox and _under(path, INBOX_PATH):
            await self.inbox(scope, receive, send)
            return
        if scope["type"] == "lifespan" or any(_under(path, prefix) for prefix in self.prefixes):
            await self.app(scope, receive, send)
            return
        await send_outcome(send, 404, "not-found", "Not found")


def _under(path: str, prefix: str) -> bool:
    """Whether the path is the prefix or below it."""
    return path == prefix or path.startswith(f"{prefix}/")


def create_clinic_asgi(settings: SandboxSettings, clinic: FhirServer) -> PathAllowList:
    """The receiving clinic's server: plain sekmet minus its unauthenticated UI, plus our inbox."""
    inbox = cast(AsgiApp, WSGIMiddleware(create_clinic_web_app(settings, clinic)))  # type: ignore[arg-type]
    return PathAllowList(clinic.app, CLINIC_PATHS, inbox)
