"""The app's long-lived collaborators, built once in ``create_app`` and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

from smart_app.config import Registration, Settings
from smart_app.errors import LaunchError
from smart_app.http_pool import HttpPool
from smart_app.keys import KeyRing
from smart_app.launches import Launches
from smart_app.referrals.receivers import Receiver
from smart_app.smart.backend_services import BackendTokens
from smart_app.smart.discovery import Discovery
from smart_app.smart.id_token import KeySets
from smart_app.store import Store


@dataclass(frozen=True)
class Services:
    """Settings, registrations, the store and the HTTP machinery."""

    settings: Settings
    registrations: dict[str, Registration]
    store: Store
    http: HttpPool
    discovery: Discovery
    key_sets: KeySets
    launches: Launches
    keys: KeyRing
    receivers: dict[str, Receiver]  # receiving clinics' endpoints, keyed by base URL
    backend_tokens: BackendTokens

    def registration_for(self, iss: str) -> Registration:
        """The registration whose iss this is (the issuer allow-list)."""
        registration = self.registrations.get(iss.strip().rstrip("/"))
        if registration is None:
            raise LaunchError(
                "This EHR is not registered with Second Opinion.",
                "Ask your administrator to register it; until then the app cannot be launched from it.",
            )
        return registration


def services() -> Services:
    """The current app's services."""
    found: Services = current_app.extensions["second_opinion"]
    return found


def utcnow() -> datetime:
    """The one clock the app reads."""
    return datetime.now(UTC)
