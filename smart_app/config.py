"""Settings and EHR registrations, read once at start-up and validated; no Flask here.

Settings come from ``SMART_APP_*`` environment variables. Each EHR the app may
be launched from is registered in one TOML file in the registrations folder;
the set of registered ``iss`` values is the issuer allow-list.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ClientAuth = Literal["none", "client_secret_basic", "client_secret_post"]

_ENV_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ConfigError(RuntimeError):
    """The app cannot start: a setting or a registration is wrong (message says which)."""


def absolute_url(value: str) -> str:
    """An absolute http(s) URL without its trailing slash, else ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Deployment settings; every URL and port the app uses comes from here."""

    model_config = SettingsConfigDict(env_prefix="SMART_APP_", frozen=True, extra="ignore")

    public_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///.data/smart_app.sqlite3"
    registrations: Path = Path("launch/registrations")
    namespace: str = "https://so.example.org/fhir"
    cookie_secure: bool = True
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    launch_ttl_seconds: int = Field(default=600, gt=0)
    session_ttl_seconds: int = Field(default=8 * 3600, gt=0)

    @field_validator("public_url", "namespace")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        return absolute_url(value)

    @property
    def redirect_uri(self) -> str:
        """The callback URL registered with every EHR."""
        return f"{self.public_url}/callback"


class Registration(BaseModel):
    """One EHR the app is registered with (one TOML file in the registrations folder)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the file's stem, used in URLs and logs
    name: str
    iss: str
    client_id: str
    client_auth: ClientAuth = "none"
    client_secret_env: str | None = None
    scopes: str

    @field_validator("iss")
    @classmethod
    def _iss_is_url(cls, value: str) -> str:
        return absolute_url(value)

    @property
    def client_secret(self) -> str | None:
        """The confidential client's secret, read from the environment at the moment of use."""
        return os.environ.get(self.client_secret_env) if self.client_secret_env else None


def expand_env(value: str) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with the environment's values."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found:
            return found
        if default is None:
            raise ConfigError(f"environment variable {name} is not set")
        return default

    return _ENV_REFERENCE.sub(replace, value)


def load_registrations(folder: Path) -> dict[str, Registration]:
    """Read every ``*.toml`` in ``folder``; keyed by normalised ``iss``."""
    if not folder.is_dir():
        raise ConfigError(f"registrations folder {folder} does not exist")
    registrations: dict[str, Registration] = {}
    for path in sorted(folder.glob("*.toml")):
        registration = _registration_from_file(path)
        if registration.iss in registrations:
            raise ConfigError(f"{path.name}: iss is already registered by another file")
        if registration.client_auth != "none" and not registration.client_secret_env:
            raise ConfigError(
                f"{path.name}: client_auth {registration.client_auth} needs client_secret_env"
            )
        registrations[registration.iss] = registration
    if not registrations:
        raise ConfigError(f"no EHR registrations (*.toml) in {folder}")
    return registrations


def _registration_from_file(path: Path) -> Registration:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        values = {k: expand_env(v) if isinstance(v, str) else v for k, v in raw.items()}
        return Registration.model_validate({"key": path.stem, **values})
    except (tomllib.TOMLDecodeError, ValidationError, TypeError) as error:
        raise ConfigError(f"{path.name}: {error}") from error
