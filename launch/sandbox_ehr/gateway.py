"""ASGI middleware in front of the EHR's sekmet: enforces SMART scopes and the patient
compartment per request and per batch/transaction entry (sekmet checks neither).

Requests without a token we can verify are passed on untouched: sekmet answers them 401.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import jwt

from .compartment import CompartmentViolation, Lookup, check_compartment
from .fhir_request import FhirRequest, request_from_entry, request_from_path
from .scopes import ClinicalScope, granting_contexts, parse_scopes

logger = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]
PUBLIC_PATHS = ("/fhir/metadata",)


@dataclass(frozen=True)
class Grant:
    """What a verified access token allows: its clinical scopes, parsed once per request."""

    scopes: list[ClinicalScope]
    patient: str  # the launch patient's id; "" when the token has none


class Forbidden(Exception):
    """The token does not permit this interaction (HTTP 403, issue code `forbidden`)."""


class ScopeGateway:
    """Wraps the FHIR app; `secret` returns the HS256 key tokens are signed with."""

    def __init__(
        self, app: AsgiApp, secret: Callable[[], str], fhir_base: str, lookup: Lookup
    ) -> None:
        self.app = app
        self.secret = secret
        self.fhir_base = fhir_base
        self.lookup = lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then forward it (with its body replayed) or answer 403."""
        if scope["type"] != "http" or scope["path"].rstrip("/") in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        claims = self._claims(scope)
        if claims is None:
            await self.app(scope, receive, send)
            return
        raw, receive = await _buffer_body(receive)
        try:
            request = _parse_request(scope, raw)
            await anyio.to_thread.run_sync(self._authorize, claims, request)
        except Forbidden as denial:
            logger.info("gateway.denied method=%s", scope["method"])
            await send_outcome(send, 403, "forbidden", str(denial))
            return
        await self.app(scope, receive, send)

    def _claims(self, scope: Scope) -> dict[str, Any] | None:
        """Verified access-token claims, or None when absent or invalid."""
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.secret(), algorithms=["HS256"], audience=self.fhir_base
            )
        except jwt.PyJWTError:
            return None
        return claims

    def _authorize(self, claims: dict[str, Any], request: FhirRequest) -> None:
        """Raise Forbidden unless scopes (and, for patient/ scopes, the compartment) allow."""
        grant = Grant(parse_scopes(str(claims.get("scope", ""))), str(claims.get("patient", "")))
        if request.method == "POST" and request.resource_type == "*" and not request.segments:
            self._authorize_bundle(grant, request.body)
            return
        self._authorize_one(grant, request)

    def _authorize_bundle(self, grant: Grant, bundle: Any) -> None:
        """Each batch/transaction entry must be allowed on its own; other bundles need *.c."""
        if not isinstance(bundle, dict) or bundle.get("type") not in ("batch", "transaction"):
            self._authorize_one(grant, FhirRequest("POST", "*", None, ()))
            return
        for index, entry in enumerate(bundle.get("entry") or []):
            entry_request = request_from_entry(entry if isinstance(entry, dict) else {},
                                               self.fhir_base)
            try:
                self._authorize_one(grant, entry_request)
            except Forbidden as denial:
                raise Forbidden(f"Bundle entry {index}: {denial}") from denial

    def _authorize_one(self, grant: Grant, request: FhirRequest) -> None:
        """Check one interaction against the token's scopes and patient."""
        contexts = granting_contexts(grant.scopes, request.resource_type, request.permission)
        if not contexts:
            raise Forbidden(f"Token scopes do not permit '{request.permission}' on "
                            f"{request.resource_type}")
        if contexts == {"patient"}:
            try:
                check_compartment(request, grant.patient, self.fhir_base, self.lookup)
            except CompartmentViolation as violation:
                raise Forbidden(str(violation)) from violation


def _parse_request(scope: Scope, raw: bytes) -> FhirRequest:
    """The FHIR interaction of an HTTP request to /fhir/…; bodies we cannot read are denied."""
    path = scope["path"].removeprefix("/fhir")
    params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return request_from_path(scope["method"], path, params, _parse_body(scope, raw))


def _parse_body(scope: Scope, raw: bytes) -> Any:
    """JSON or form body; any other non-empty body cannot be checked, so it is refused."""
    if not raw.strip():
        return None
    ctype = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
    if "x-www-form-urlencoded" in ctype:
        return parse_qsl(raw.decode(), keep_blank_values=True)
    if "xml" in ctype:
        raise Forbidden("The sandbox scope gateway only accepts JSON bodies")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise Forbidden("The request body is not valid JSON") from error


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and return a receive callable that replays it."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def send_outcome(send: Send, status: int, code: str, text: str) -> None:
    """Answer with an OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html)."""
    outcome = {"resourceType": "OperationOutcome",
               "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
    body = json.dumps(outcome).encode()
    headers = [(b"content-type", b"application/fhir+json; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
