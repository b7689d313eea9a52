"""One small FHIR R4 REST client for every server the app talks to: https://hl7.org/fhir/R4/http.html.

It only moves JSON over HTTP and turns failures into the app's errors; what
the JSON means is ``fhir_mappings``' business.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from fhir_mappings.bundle import BatchEntryResponse, batch_from_urls, responses_from_batch_response
from smart_app.errors import (
    EhrError,
    EhrForbidden,
    EhrUnauthorized,
    EhrUnavailable,
    ResourceNotFound,
)

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Created:
    """The outcome of a (conditional) create."""

    resource_id: str
    created: bool  # False when If-None-Exist matched an existing resource
    resource: dict[str, Any] | None


class FhirClient:
    """Bearer-authenticated JSON calls to one FHIR base URL."""

    def __init__(
        self, session: requests.Session, base_url: str, access_token: str, timeout: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": FHIR_JSON}

    def batch(self, urls: Sequence[str]) -> list[BatchEntryResponse]:
        """Run GETs in one ``batch`` round trip (R4 http.html#transaction)."""
        body = self._send("POST", self.base_url, json=batch_from_urls(urls))
        return responses_from_batch_response(body)

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """GET ``[base]/[type]/[id]``."""
        return self._send("GET", f"{self.base_url}/{resource_type}/{resource_id}")

    def search(self, resource_type: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET ``[base]/[type]?params`` (one page)."""
        return self._send("GET", f"{self.base_url}/{resource_type}", params=dict(params))

    def page(self, url: str) -> dict[str, Any]:
        """Follow a Bundle ``next`` link, which must stay on this server (the token goes with it)."""
        if not url.startswith(f"{self.base_url}/") and not url.startswith(f"{self.base_url}?"):
            raise EhrError("The EHR sent a paging link to another server; it was not followed.")
        return self._send("GET", url)

    def create(self, resource: Mapping[str, Any], if_none_exist: str | None = None) -> Created:
        """POST a resource; with ``If-None-Exist`` a retry finds the first one (R4 http.html#ccreate)."""
        headers = {"Content-Type": FHIR_JSON, "Prefer": "return=representation"}
        if if_none_exist:
            headers["If-None-Exist"] = if_none_exist
        url = f"{self.base_url}/{resource['resourceType']}"
        response = self._request("POST", url, json=resource, headers=headers)
        body = _json_or_none(response)
        resource_id = _created_id(response, body)
        return Created(resource_id, response.status_code == 201, body)

    def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        body = _json_or_none(self._request(method, url, **kwargs))
        if body is None:
            raise EhrError("The EHR's answer could not be read.")
        return body

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = self._session.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
        except requests.Timeout as error:
            raise EhrUnavailable(
                "The EHR did not answer in time.", "Try again in a moment."
            ) from error
        except requests.RequestException as error:
            raise EhrUnavailable(
                "The EHR could not be reached.", "Try again in a moment."
            ) from error
        _raise_for_status(response)
        return response


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    logger.info("fhir.refused status=%s", status)
    if status == 401:
        raise EhrUnauthorized(
            "The EHR no longer accepts this session.",
            "Launch Second Opinion again from the patient's chart.",
        )
    if status == 403:
        raise EhrForbidden(
            "The EHR did not allow Second Opinion to do this.",
            "Ask your administrator to grant the app the scopes it needs.",
        )
    if status in (404, 410):
        raise ResourceNotFound("The EHR could not find what Second Opinion asked for.")
    if status >= 500 or status == 429:
        raise EhrUnavailable("The EHR had a problem answering.", "Try again in a moment.")
    raise EhrError("The EHR did not accept the request.")


def _json_or_none(response: requests.Response) -> dict[str, Any] | None:
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _created_id(response: requests.Response, body: Mapping[str, Any] | None) -> str:
    """The id from the body, else from ``Location: [base]/[type]/[id]/_history/[vid]``."""
    if body and isinstance(body.get("id"), str):
        return str(body["id"])
    location = response.headers.get("Location", "")
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-1]:
        return parts[-1]
    raise EhrError("The EHR did not say where it stored the referral.")
