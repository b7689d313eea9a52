"""The sandbox EHR as a CDS Hooks 2.0 client: https://cds-hooks.hl7.org/2.0/.

It reads the app's discovery document, fills each prefetch template from its own FHIR store
(what a real EHR would do), signs a JWT per call (ES384, `aud` = the endpoint, 5-minute `exp`,
fresh `jti`) and POSTs the hook. With `prefetch=False` it sends no prefetch but a short-lived
`fhirAuthorization` token instead, so the service reads the chart itself.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt as pyjwt
from joserfc import jwt
from joserfc.jwk import ECKey

from .cds_key import ALGORITHM
from .config import SandboxSettings

logger = logging.getLogger(__name__)
TIMEOUT = 10.0
TOKEN_TTL = 300
CDS_CLIENT_ID = "second-opinion-cds"  # the service's client id when it reads with fhirAuthorization
READ_SCOPES = " ".join(
    f"patient/{t}.rs"
    for t in ("Patient", "Condition", "Coverage", "Encounter", "Observation", "ServiceRequest")
)


@dataclass(frozen=True)
class HookAnswer:
    """What the service answered: its status, cards, and how long the call took."""

    status: int
    cards: list[dict[str, Any]]
    elapsed_ms: float
    error: str | None = None


class CdsClient:
    """Calls the app's CDS services as the sandbox EHR."""

    def __init__(self, settings: SandboxSettings, fhir: Any, key: ECKey, token_secret: Any) -> None:
        self.settings = settings
        self._fhir = fhir
        self._key = key
        self._token_secret = token_secret
        self._http = httpx.Client(timeout=TIMEOUT)
        self._discovery: tuple[float, dict[str, Any]] | None = None

    @property
    def services_url(self) -> str:
        """`{app}/cds-services`."""
        return f"{self.settings.app_base_url}/cds-services"

    def call(self, hook: str, context: dict[str, Any], prefetch: bool = True) -> HookAnswer:
        """Invoke the app's service for `hook` with this context."""
        started = time.perf_counter()
        service = next((s for s in self.discover() if s.get("hook") == hook), None)
        if service is None:
            return HookAnswer(0, [], 0.0, f"the app offers no {hook} service")
        body: dict[str, Any] = {
            "hook": hook,
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": self.settings.fhir_base,
            "context": context,
        }
        patient = str(context["patientId"])
        if prefetch:
            body["prefetch"] = self.prefetch(service.get("prefetch") or {}, patient)
        else:
            body["fhirAuthorization"] = self.fhir_authorization(patient, str(context["userId"]))
        url = f"{self.services_url}/{service['id']}"
        response = self._http.post(url, json=body, headers=self._headers(url))
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return HookAnswer(response.status_code, [], elapsed, _diagnostics(response))
        cards = response.json().get("cards") or []
        return HookAnswer(200, [c for c in cards if isinstance(c, dict)], elapsed)

    def feedback(self, service_id: str, item: dict[str, Any]) -> int:
        """POST one feedback item (CDS Hooks 2.0 §Feedback); the HTTP status."""
        url = f"{self.services_url}/{service_id}/feedback"
        item = {**item, "outcomeTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        return self._http.post(
            url, json={"feedback": [item]}, headers=self._headers(url)
        ).status_code

    def discover(self) -> list[dict[str, Any]]:
        """The app's services (cached a minute, as an EHR caches a service's registration)."""
        if self._discovery and self._discovery[0] > time.monotonic():
            return list(self._discovery[1].get("services") or [])
        response = self._http.get(self.services_url, headers=self._headers(self.services_url))
        response.raise_for_status()
        self._discovery = (time.monotonic() + 60, response.json())
        return list(self._discovery[1].get("services") or [])

    def prefetch(self, templates: dict[str, str], patient: str) -> dict[str, Any]:
        """Each template read from the sandbox's store: no data is null, a failed read left out."""
        out: dict[str, Any] = {}
        for key, template in templates.items():
            query = template.replace("{{context.patientId}}", patient)
            try:
                out[key] = self._read(query)
            except Exception as error:  # sekmet raises its own FhirError; the key is then left out
                logger.info("cds.prefetch_failed key=%s error=%s", key, type(error).__name__)
        return out

    def _read(self, query: str) -> dict[str, Any] | None:
        path, _, params = query.partition("?")
        if not params and path.count("/") == 1:
            return dict(self._fhir.read(*path.split("/")).body)
        bundle = dict(self._fhir.search(path, parse_qsl(params)).body or {})
        bundle.pop("link", None)  # §Prefetch Template: no next-page links
        return bundle if bundle.get("entry") else None

    def fhir_authorization(self, patient: str, user: str) -> dict[str, Any]:
        """A read-only token for this patient, for the service alone (§Passing the Access Token)."""
        now = int(time.time())
        claims = {
            "iss": self.settings.ehr_root,
            "aud": self.settings.fhir_base,
            "sub": CDS_CLIENT_ID,
            "client_id": CDS_CLIENT_ID,
            "scope": READ_SCOPES,
            "patient": patient,
            "iat": now,
            "exp": now + TOKEN_TTL,
            "jti": secrets.token_hex(16),
            "fhirUser": user,
        }
        token = pyjwt.encode(claims, self._token_secret(), algorithm="HS256")
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "scope": READ_SCOPES,
            "subject": CDS_CLIENT_ID,
        }

    def _headers(self, url: str) -> dict[str, str]:
        now = int(time.time())
        header = {
            "alg": ALGORITHM,
            "typ": "JWT",
            "kid": str(self._key.kid),
            "jku": self.settings.cds_jwks_url,
        }
        claims = {
            "iss": self.settings.ehr_root,
            "aud": url,
            "iat": now,
            "exp": now + TOKEN_TTL,
            "jti": secrets.token_urlsafe(24),
        }
        return {
            "Authorization": "Bearer " + jwt.encode(header, claims, self._key, [ALGORITHM]),
            "Accept": "application/json",
        }


def _diagnostics(response: httpx.Response) -> str:
    try:
        issues = response.json().get("issue") or [{}]
        return str(issues[0].get("diagnostics") or response.reason_phrase)[:300]
    except ValueError:
        return response.reason_phrase
