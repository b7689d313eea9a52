"""One call to a receiving clinic's FHIR server with a SMART Backend Services token, failures in plain words.

::

    DeliveryFailed          the clinic did not take the request
        transient           408, 429, 5xx, 409/412 on an update, timeouts, unreachable: try again later
        token_refused       the token endpoint refused the app (e.g. its JWKS was briefly unreachable):
                            tried again for a bounded time, then a dead letter (docs/delivery.md, "Failures")
        otherwise           another 4xx: a dead letter, the ATP's "Try again"
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from smart_app.http_pool import HttpPool
from smart_app.referrals.receivers import Receiver
from smart_app.smart.backend_services import (
    BackendClient,
    BackendTokenError,
    BackendTokens,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
TRANSIENT_STATUSES = frozenset({408, 429})
CHANGED_MEANWHILE = frozenset({409, 412})  # an update written with If-Match lost the race: read again


class DeliveryFailed(Exception):
    """The clinic did not take the request; ``transient`` says whether to try again later."""

    def __init__(
        self, message: str, *, transient: bool, retry_after: float | None = None, token_refused: bool = False
    ) -> None:
        super().__init__(message)
        self.message, self.transient, self.retry_after = message, transient, retry_after
        self.token_refused = token_refused


@dataclass(frozen=True)
class Clinic:
    """One receiving server as the worker talks to it."""

    receiver: Receiver
    client: BackendClient


class ClinicHttp:
    """FHIR calls to receiving clinics, each with its Backend Services token."""

    def __init__(self, tokens: BackendTokens, http: HttpPool) -> None:
        self._tokens, self._http = tokens, http

    def call(
        self, clinic: Clinic, method: str, url: str, body: Any, if_match: str | None = None
    ) -> dict[str, Any]:
        """One call; failures become DeliveryFailed. ``if_match`` is the version read (an update)."""
        headers = {"Authorization": f"Bearer {self._token(clinic)}", "Accept": FHIR_JSON,
                   "Content-Type": FHIR_JSON}  # fmt: skip
        if if_match:
            headers["If-Match"] = f'W/"{if_match}"'  # https://hl7.org/fhir/R4/http.html#concurrency
        try:
            response = self._http.for_url(url).request(
                method, url, json=body, headers=headers, timeout=self._http.timeout
            )
        except requests.Timeout as error:
            raise DeliveryFailed("The receiving clinic did not answer in time.", transient=True) from error
        except requests.RequestException as error:
            raise DeliveryFailed("The receiving clinic could not be reached.", transient=True) from error
        if response.status_code == 401:
            self._tokens.forget(clinic.client)  # expired or revoked: the next try gets a new one
            raise DeliveryFailed("The receiving clinic asked Second Opinion to sign in again.",
                                 transient=True)  # fmt: skip
        if if_match and response.status_code in CHANGED_MEANWHILE:
            raise DeliveryFailed("The clinic changed the referral meanwhile; it is read again.",
                                 transient=True)  # fmt: skip
        if response.status_code >= 400:
            status, kind = response.status_code, _resource_type(url)
            logger.info("clinic.refused method=%s type=%s status=%s", method, kind, status)
        _raise_for_status(response)
        if method == "DELETE" and not response.content:
            return {}  # 200/204 without a body: deleted
        return _json(response)

    def _token(self, clinic: Clinic) -> str:
        try:
            return self._tokens.token(clinic.client)
        except BackendTokenError as error:
            message = f"Signing in to the receiving clinic failed: {error.message}"
            refused = not error.transient
            raise DeliveryFailed(
                message, transient=error.transient, retry_after=error.retry_after, token_refused=refused
            ) from error


def _resource_type(url: str) -> str:
    """The resource type a URL addresses, for the logs (never ids or queries)."""
    parts = url.split("?", 1)[0].rstrip("/").split("/")
    return next((p for p in reversed(parts) if p[:1].isupper()), "base")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError as error:
        raise DeliveryFailed("The receiving clinic's answer could not be read.", transient=True) from error
    if not isinstance(parsed, dict):
        raise DeliveryFailed("The receiving clinic's answer could not be read.", transient=True)
    return parsed


def _raise_for_status(response: requests.Response) -> None:
    """408, 429 and 5xx are worth retrying (RFC 9110 §15.5.9, RFC 6585 §4); other 4xx are not."""
    status = response.status_code
    if status < 400:
        return
    logger.info("fhir.refused status=%s", status)
    if status in TRANSIENT_STATUSES or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        raise DeliveryFailed(
            f"The receiving clinic was busy or had a problem (HTTP {status}).",
            transient=True,
            retry_after=retry_after,
        )
    if status == 403:
        raise DeliveryFailed(
            "The receiving clinic does not allow Second Opinion to send this (HTTP 403).", transient=False
        )
    raise DeliveryFailed(f"The receiving clinic refused the referral (HTTP {status}).", transient=False)
