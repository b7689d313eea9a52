"""Sandbox settings, read once from SANDBOX_* environment variables (see launch/README.md)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxSettings:
    """Everything the two servers need; derived URLs are properties."""

    host: str
    ehr_port: int
    clinic_port: int
    data_dir: Path
    app_launch_url: str
    app_redirect_uris: tuple[str, ...]
    client_id: str
    app_jwks_url: str
    admin_secret: str
    namespace: str
    client_secret: str = ""  # the symmetric clients' ({client_id}-basic, -post) shared secret
    backend_client_id: str = "second-opinion-backend"
    app_framed: bool = False  # the front page shows the app in a frame, as an EHR's chart does

    @property
    def ehr_root(self) -> str:
        """Root URL of the EHR server (no trailing slash)."""
        return f"http://{self.host}:{self.ehr_port}"

    @property
    def fhir_base(self) -> str:
        """The EHR FHIR base: SMART `iss` and the required `aud`."""
        return f"{self.ehr_root}/fhir"

    @property
    def app_base_url(self) -> str:
        """The app's base URL, from its launch URL: CDS services are at `{this}/cds-services`."""
        return self.app_launch_url.split("?", 1)[0].removesuffix("/launch").rstrip("/")

    @property
    def cds_jwks_url(self) -> str:
        """Where the sandbox publishes the key it signs CDS Hooks calls with."""
        return f"{self.ehr_root}/cds-client/jwks"

    @property
    def clinic_root(self) -> str:
        """Root URL of the receiving clinic's server."""
        return f"http://{self.host}:{self.clinic_port}"

    @property
    def clinic_fhir_base(self) -> str:
        """The receiving clinic's FHIR base."""
        return f"{self.clinic_root}/fhir"


def load_settings(environ: Mapping[str, str] | None = None) -> SandboxSettings:
    """Build the settings from the environment, creating the data directory."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("SANDBOX_DATA_DIR", ".data/sandbox")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return SandboxSettings(
        host=env.get("SANDBOX_HOST", "127.0.0.1"),
        ehr_port=int(env.get("SANDBOX_EHR_PORT", "8001")),
        clinic_port=int(env.get("SANDBOX_CLINIC_PORT", "8002")),
        data_dir=data_dir,
        app_launch_url=env.get("SANDBOX_APP_LAUNCH_URL", "http://127.0.0.1:8000/launch"),
        app_redirect_uris=tuple(
            env.get("SANDBOX_APP_REDIRECT_URIS", "http://127.0.0.1:8000/callback").split()
        ),
        client_id=env.get("SANDBOX_CLIENT_ID", "second-opinion"),
        app_jwks_url=env.get(
            "SANDBOX_APP_JWKS_URL", "http://127.0.0.1:8000/.well-known/jwks.json"
        ),
        admin_secret=env.get("SANDBOX_ADMIN_SECRET") or _stored_admin_secret(data_dir),
        namespace=env.get("SANDBOX_NAMESPACE", "https://so.example.org/fhir").rstrip("/"),
        client_secret=env.get("SANDBOX_CLIENT_SECRET") or _stored_admin_secret(data_dir, "client"),
        backend_client_id=env.get("SANDBOX_BACKEND_CLIENT_ID", "second-opinion-backend"),
        app_framed=env.get("SANDBOX_APP_FRAMED", "").lower() in ("1", "true", "yes"),
    )


def _stored_admin_secret(data_dir: Path, name: str = "admin") -> str:
    """Read a secret from the data directory, generating it on first run."""
    path = data_dir / f"{name}.secret"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret
