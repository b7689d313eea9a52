"""ASGI composition of the EHR and the clinic servers: our discovery document, the scope
gateway in front of sekmet's /fhir, sekmet's admin token endpoint, and the Flask app (front
page, authorization server) for everything else.
"""

from __future__ import annotations

from typing import cast

from a2wsgi import WSGIMiddleware

from .clinic_web import create_clinic_web_app
from .config import SandboxSettings
from .fhir_servers import FhirServer
from .gateway import AsgiApp, Receive, Scope, ScopeGateway, Send
from .open_fhir import OPEN_PREFIX, OpenFhir
from .web import create_web_app

# ours, and must win over sekmet's own discovery document at the same paths
DISCOVERY_PATHS = ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration")
SEKMET_TOKEN_PATH = "/auth/token"  # client_credentials for sandbox-admin


class SiteDispatcher:
    """Routes each request by path; lifespan events go to sekmet. Not sekmet's /ui."""

    def __init__(self, web: AsgiApp, fhir: AsgiApp, sekmet: AsgiApp,
                 open_fhir: AsgiApp | None = None) -> None:
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
        if _under(path, "/fhir"):
            return self.fhir
        if path == SEKMET_TOKEN_PATH:
            return self.sekmet
        if self.open_fhir is not None and _under(path, OPEN_PREFIX):
            return self.open_fhir
        return self.web


def _under(path: str, prefix: str) -> bool:
    """Whether the path is the prefix or below it."""
    return path == prefix or path.startswith(f"{prefix}/")


def _gateway(server: FhirServer, fhir_base: str) -> ScopeGateway:
    """The scope gateway in front of one sekmet, reading resources from its store."""
    store = server.ctx.store

    def lookup(resource_type: str, resource_id: str) -> dict[str, object] | None:
        try:
            found: dict[str, object] | None = store.read(resource_type, resource_id)
        except Exception:  # sekmet raises FhirError(410) for deleted resources
            return None
        return found

    return ScopeGateway(server.app, server.token_secret, fhir_base, lookup)


def create_ehr_asgi(settings: SandboxSettings, ehr: FhirServer) -> SiteDispatcher:
    """The whole EHR server as one ASGI app."""
    # a2wsgi types the ASGI protocol with TypedDicts; ours are plain mappings
    web = cast(AsgiApp, WSGIMiddleware(create_web_app(settings, ehr)))  # type: ignore[arg-type]
    open_fhir = OpenFhir(ehr.app, ehr.token_secret, settings.fhir_base)
    return SiteDispatcher(web, _gateway(ehr, settings.fhir_base), ehr.app, open_fhir)


def create_clinic_asgi(settings: SandboxSettings, clinic: FhirServer) -> SiteDispatcher:
    """The receiving clinic's server, composed like the EHR's (no open endpoint)."""
    web = cast(AsgiApp, WSGIMiddleware(create_clinic_web_app(settings, clinic)))  # type: ignore[arg-type]
    return SiteDispatcher(web, _gateway(clinic, settings.clinic_fhir_base), clinic.app)
