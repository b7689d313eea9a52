"""One small FHIR R4 REST client for every server the app talks to: https://hl7.org/fhir/R4/http.html.

It only moves JSON over HTTP and turns failures into the app's errors; what
the JSON means is ``fhir_mappings``' business.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from fhir_mappings.attachment import url_on_server
from fhir_mappings.bundle import BatchEntryResponse, batch_from_urls, responses_from_batch_response
from smart_app.chart.breaker import CONNECT_TIMEOUT_SECONDS, Guard, GuardPolicy
from smart_app.errors import (
    EhrError,
    EhrForbidden,
    EhrOutcomeUnknown,
    EhrUnauthorized,
    EhrUnavailable,
    ResourceNotFound,
)

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
FILE_ACCEPT = f"{FHIR_JSON}, */*;q=0.5"  # a Binary as its resource, any other file as it is
CHUNK_BYTES = 64 * 1024


class TransactionUnsupported(EhrError):
    """The server refused a ``transaction`` as such (404/405/501 to the POST on its base URL)."""


class BatchUnsupported(EhrError):
    """The server refused a ``batch`` as such (404/405/501 or 400 to the POST on its base URL)."""


class ContentTooLarge(EhrError):
    """A file is larger than the caller allows; no more of it was read."""


class VersionConflict(EhrError):
    """The server holds another version than the one an update was based on (HTTP 409 or 412)."""

    status, code, title = 409, "conflict", "The record changed meanwhile"


class NotOnServer(EhrError):
    """A file's address, or the address the server redirected to, is not under this server's base."""


@dataclass(frozen=True)
class Content:
    """A file read from the server: its bytes and the Content-Type it came with."""

    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Created:
    """The outcome of a (conditional) create."""

    resource_id: str
    created: bool  # False when If-None-Exist matched an existing resource
    resource: dict[str, Any] | None


class FhirClient:
    """JSON calls to one FHIR base URL, bearer-authenticated unless the server is open."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        access_token: str,
        timeout: float,
        guard: Guard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._timeout = (min(CONNECT_TIMEOUT_SECONDS, timeout), timeout)  # connect, read
        self._guard = guard or Guard(GuardPolicy())
        self._headers = {"Accept": FHIR_JSON}
        if access_token:  # an open server (no authorization) gets no Authorization header at all
            self._headers["Authorization"] = f"Bearer {access_token}"

    @property
    def no_batch(self) -> bool:
        """True once this server refused a batch: its reads then go out in parallel."""
        return self._guard.batch_refused

    def batch(self, urls: Sequence[str]) -> list[BatchEntryResponse]:
        """Run GETs in one ``batch`` round trip (R4 http.html#transaction)."""
        try:
            body = self._send("POST", self.base_url, json=batch_from_urls(urls))
        except EhrError as error:
            if error.upstream_status in (400, 404, 405, 501):
                self._guard.batch_refused = True
                raise BatchUnsupported("The EHR does not take batches.") from error
            raise
        if body.get("resourceType") != "Bundle" or body.get("type") != "batch-response":
            raise EhrError("The EHR's answer did not match what Second Opinion asked for.")
        return responses_from_batch_response(body)

    @property
    def no_transaction(self) -> bool:
        """True once this server refused a transaction: its writes then go one by one."""
        return self._guard.transaction_refused

    def transaction(self, bundle: Mapping[str, Any]) -> list[BatchEntryResponse]:
        """POST a ``transaction`` Bundle: every entry is applied or none is (R4 http.html#transaction).

        404, 405 or 501 to the POST on the base mean the server takes no transactions (a 400
        may be about the content, so it stays an error); nothing was applied either way.
        """
        headers = {"Content-Type": FHIR_JSON, "Prefer": "return=representation"}
        try:
            body = self._send("POST", self.base_url, json=bundle, headers=headers)
        except EhrError as error:
            if error.upstream_status in (404, 405, 501):
                self._guard.transaction_refused = True
                raise TransactionUnsupported("The EHR does not take transactions.") from error
            raise
        return responses_from_batch_response(body)

    def get_entry(self, url: str) -> BatchEntryResponse:
        """One relative GET, answered like a batch entry (for servers without batch)."""
        try:
            return BatchEntryResponse(200, self.get_relative(url))
        except ResourceNotFound:
            return BatchEntryResponse(404)

    def get_relative(self, url: str) -> dict[str, Any]:
        """GET ``[base]/[url]`` for a relative url such as ``Condition?patient=1``."""
        return self._send("GET", f"{self.base_url}/{url}")

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

    def fetch(self, url: str, max_bytes: int) -> Content:
        """GET a file (an attachment url) on this server only: at most ``max_bytes``, no redirects.

        The ATP's token goes with the request, so an address outside the base, or a redirect
        anywhere, is refused before anything is read (fhir_mappings/attachment.py).
        """
        target = url_on_server(self.base_url, url)
        if target is None:
            raise NotOnServer("A file's address is outside the EHR; Second Opinion did not contact it.")
        headers = {"Accept": FILE_ACCEPT}
        response = self._request("GET", target, headers=headers, stream=True, allow_redirects=False)
        with response:
            if response.status_code >= 300:  # 3xx: _request raised for 4xx and 5xx
                raise NotOnServer("The EHR sent Second Opinion elsewhere for a file; it was not followed.")
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
                raise ContentTooLarge("The file is too large to send.")
            data = _read_at_most(response, max_bytes, deadline=time.monotonic() + 3 * self._timeout[1])
        return Content(response.headers.get("Content-Type"), data)

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

    def update(self, resource: Mapping[str, Any], if_match: str | None = None) -> dict[str, Any]:
        """PUT ``[base]/[type]/[id]`` (R4 http.html#update); with ``if_match`` (a versionId) only if the
        server still holds that version, else ``VersionConflict`` (R4 http.html#concurrency)."""
        url = f"{self.base_url}/{resource['resourceType']}/{resource['id']}"
        headers = {"Content-Type": FHIR_JSON}
        if if_match:
            headers["If-Match"] = f'W/"{if_match}"'
        try:
            return self._send("PUT", url, json=resource, headers=headers)
        except EhrError as error:
            if if_match and error.upstream_status in (409, 412):
                raise VersionConflict("Someone changed this record meanwhile.") from error
            raise

    def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        body = _json_or_none(self._request(method, url, **kwargs))
        if body is None:
            raise EhrError("The EHR's answer could not be read.")
        return body

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        with self._guard.call():
            try:
                response = self._session.request(
                    method, url, headers=headers, timeout=self._timeout, **kwargs
                )
            except requests.RequestException as error:
                self._guard.failed()
                logger.info("fhir.no_answer error=%s", type(error).__name__)
                raise _unavailable(error) from error
            if response.status_code >= 500:
                self._guard.failed()
            else:
                self._guard.succeeded()
        _raise_for_status(response)
        return response


def _read_at_most(response: requests.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, decoded, stopping as soon as it passes ``max_bytes`` or the deadline."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise ContentTooLarge("The file is too large to send.")
            if time.monotonic() > deadline:
                raise EhrUnavailable("The EHR is sending a file too slowly.", "Try again in a moment.")
            chunks.append(chunk)
    except requests.RequestException as error:
        raise _unavailable(error) from error
    return b"".join(chunks)


def _unavailable(error: requests.RequestException) -> EhrUnavailable:
    """Tell "never reached" (nothing can have been written) from "sent, no answer"."""
    if isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and "NewConnectionError" in repr(error)
    ):
        return EhrUnavailable("The EHR could not be reached.", "Try again in a moment.")
    if isinstance(error, requests.Timeout):
        return EhrOutcomeUnknown("The EHR did not answer in time.", "Try again in a moment.")
    return EhrOutcomeUnknown("The EHR stopped answering.", "Try again in a moment.")


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    logger.info("fhir.refused status=%s", status)
    try:
        _raise_for_refusal(response, status)
    except EhrError as error:
        error.upstream_status = status
        raise


def _raise_for_refusal(response: requests.Response, status: int) -> None:
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
    if status == 429:
        raise EhrUnavailable("The EHR is busy and asked Second Opinion to wait.", _retry_hint(response))
    if status in (500, 502, 504):  # the request may have been processed before it failed
        raise EhrOutcomeUnknown("The EHR had a problem answering.", "Try again in a moment.")
    if status >= 500:
        raise EhrUnavailable("The EHR had a problem answering.", "Try again in a moment.")
    raise EhrError("The EHR did not accept the request.")


def _retry_hint(response: requests.Response) -> str:
    """Retry-After in seconds (RFC 9110 §10.2.3); an HTTP-date or nonsense reads as "a moment"."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit() and 0 < int(value) <= 3600:  # not "²"
        return f"Try again in {int(value)} seconds."
    return "Try again in a moment."


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
