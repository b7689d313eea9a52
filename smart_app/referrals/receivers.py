"""Receiving clinics' FHIR endpoints the app may deliver to: one TOML file each (an allow-list).

A clinic's Endpoint comes from the directory (PractitionerRole.endpoint, else its
Organization's); the app contacts it only when a registration names that exact
base URL, as EHRs are trusted only when registered (``smart_app.config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from smart_app.config import ConfigError, absolute_url, model_from_toml, read_toml


class Receiver(BaseModel):
    """One receiving FHIR endpoint and how the app authenticates to it (SMART Backend Services)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # the file's stem, for logs
    name: str
    base_url: str
    client_id: str
    client_auth: Literal["private_key_jwt"] = "private_key_jwt"
    kid: str | None = None  # the signing key to use; None = the app's current key
    scopes: str

    @field_validator("base_url")
    @classmethod
    def _base_is_url(cls, value: str) -> str:
        return absolute_url(value)

    @field_validator("scopes")
    @classmethod
    def _system_scopes(cls, value: str) -> str:
        if not value.split() or any(not s.startswith("system/") for s in value.split()):
            raise ValueError("Backend Services scopes are system/… scopes")
        return value


def load_receivers(folder: Path) -> dict[str, Receiver]:
    """Every ``*.toml`` in ``folder``, keyed by base URL; a missing folder means no receivers."""
    receivers: dict[str, Receiver] = {}
    if not folder.is_dir():
        return receivers
    for path in sorted(folder.glob("*.toml")):
        receiver = model_from_toml(Receiver, path, read_toml(path))
        if receiver.base_url in receivers:
            raise ConfigError(f"{path.name}: base_url is already registered by another file")
        receivers[receiver.base_url] = receiver
    return receivers


def receiver_for(receivers: dict[str, Receiver], endpoint: str | None) -> Receiver | None:
    """The registration for a directory Endpoint address, None when it is not registered."""
    if not endpoint:
        return None
    return receivers.get(endpoint.strip().rstrip("/"))
