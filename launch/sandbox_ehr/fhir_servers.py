"""The two sekmet FHIR servers (EHR and receiving clinic), configured for the sandbox.

sekmet is a FastAPI app; with `server_auth.types: [smart]` it accepts HS256 JWTs signed with
the secret in its own store, which is how our authorization server's tokens are honoured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sekmet.auth.server import server_secret
from sekmet.config import Settings as SekmetSettings
from sekmet.context import AppContext
from sekmet.main import create_app

from .config import SandboxSettings

ADMIN_CLIENT_ID = "sandbox-admin"
# SMART Backend Services scopes the app's backend client may be granted at the receiving
# clinic (clinic_web.py): deliver the referral, read back the Task and the opinion letter,
# and follow the Task by a Subscription. Each entry of a transaction is checked on its own by
# the scope gateway; system/*.c covers the creates of any type.
APP_CLINIC_SCOPES = (
    "system/*.c", "system/Patient.cu", "system/Condition.cu", "system/Coverage.cu",
    "system/ServiceRequest.crus", "system/Task.crus", "system/DocumentReference.crs",
    "system/Provenance.c", "system/Subscription.cd",
)


@dataclass(frozen=True)
class FhirServer:
    """A sekmet ASGI app with its context (store, service)."""

    app: Any
    ctx: AppContext

    def token_secret(self) -> str:
        """The HS256 secret sekmet verifies bearer tokens with."""
        return str(server_secret(self.ctx.store))


def build_ehr_server(settings: SandboxSettings) -> FhirServer:
    """The EHR's FHIR server: scopes are enforced by our gateway, not by sekmet."""
    auth = {
        "types": ["smart"],
        "enforce_scopes": False,
        "smart_clients": [_admin_client(settings)],
    }
    return _build(settings, settings.fhir_base, settings.ehr_port, "ehr", auth)


def build_clinic_server(settings: SandboxSettings) -> FhirServer:
    """The receiving clinic's FHIR server: tokens come from the clinic's own authorization
    server (clinic_web.py) and scopes are enforced by our gateway, not by sekmet."""
    auth = {
        "types": ["smart"],
        "enforce_scopes": False,
        "smart_clients": [_admin_client(settings)],
    }
    return _build(settings, settings.clinic_fhir_base, settings.clinic_port, "clinic", auth)


def _admin_client(settings: SandboxSettings) -> dict[str, str]:
    """A confidential client for tests and scripts (client_credentials at {root}/auth/token)."""
    return {
        "client_id": ADMIN_CLIENT_ID,
        "client_secret": settings.admin_secret,
        "scopes": "system/*.*",
    }


def _build(
    settings: SandboxSettings, base_url: str, port: int, name: str, auth: dict[str, Any]
) -> FhirServer:
    """Create one sekmet app; simulator off so it never completes our Tasks by itself."""
    server_dir = settings.data_dir / name
    sekmet_settings = SekmetSettings.model_validate(
        {
            "base_url": base_url,
            "host": settings.host,
            "port": port,
            "data_dir": str(server_dir),
            "db_path": str(server_dir / "fhir.db"),
            "own_private_key_path": str(server_dir / "sekmet_private.pem"),
            "facility_name": "Sandbox EHR" if name == "ehr" else "Sandbox receiving clinic",
            "server_auth": auth,
            "simulator": {"enabled": False},
            "log_inbound": False,
        }
    )
    app = create_app(sekmet_settings)
    return FhirServer(app=app, ctx=app.state.ctx)
