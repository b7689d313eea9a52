"""The body of a hook call, validated: https://cds-hooks.hl7.org/2.0/#http-request_1.

``hook``, ``hookInstance`` (a UUID) and ``context`` are required; ``context.patientId`` is a FHIR
id and ``context.userId`` a ``Practitioner/…`` or ``PractitionerRole/…`` (patient-view and
order-select both require them); ``prefetch`` values are FHIR resources or null, under the
keys this service asked for; ``fhirAuthorization`` (with ``fhirServer``) is a bearer token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smart_app.cds.discovery import CdsService
from smart_app.cds.errors import CdsRequestInvalid
from smart_app.config import absolute_url

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
USER = re.compile(r"(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}")
_HINT = "Send a CDS Hooks 2.0 request body (https://cds-hooks.hl7.org/2.0/#calling-a-cds-service)."


@dataclass(frozen=True)
class FhirAuthorization:
    """The token the CDS client gave the service for its FHIR server (§Passing the Access Token)."""

    access_token: str = field(repr=False)
    scope: str


@dataclass(frozen=True)
class HookRequest:
    """What the service uses of a hook call."""

    hook_instance: str
    patient_id: str
    user_id: str
    context: Mapping[str, Any]
    prefetch: Mapping[str, dict[str, Any] | None]  # only the keys the client satisfied
    fhir_server: str | None = None
    authorization: FhirAuthorization | None = None


def hook_request_from_json(body: Any, service: CdsService, prefetch_keys: set[str]) -> HookRequest:
    """The validated request, or CdsRequestInvalid naming what is wrong (never echoing values)."""
    if not isinstance(body, dict):
        raise _invalid("The request body is not a JSON object.")
    if body.get("hook") != service.hook:
        raise _invalid(f"This service answers the {service.hook} hook.")
    context = body.get("context")
    if not isinstance(context, dict):
        raise _invalid("context is required and must be an object.")
    patient, user = context.get("patientId"), context.get("userId")
    if not isinstance(patient, str) or not FHIR_ID.fullmatch(patient):
        raise _invalid("context.patientId must be a FHIR id.")
    if not isinstance(user, str) or not USER.fullmatch(user):
        raise _invalid("context.userId must be Practitioner/<id> or PractitionerRole/<id>.")
    server, authorization = _fhir_access(body)
    return HookRequest(
        hook_instance=_hook_instance(body.get("hookInstance")),
        patient_id=patient,
        user_id=user,
        context=context,
        prefetch=_prefetch(body.get("prefetch"), prefetch_keys),
        fhir_server=server,
        authorization=authorization,
    )


def _hook_instance(value: Any) -> str:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _raise("hookInstance")
    except ValueError:
        return _raise("hookInstance")


def _raise(name: str) -> str:
    raise _invalid(f"{name} must be a UUID.")


def _prefetch(value: Any, keys: set[str]) -> dict[str, dict[str, Any] | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid("prefetch must be an object.")
    unknown = sorted(k for k in value if k not in keys)
    if unknown:
        raise _invalid(f"prefetch holds keys this service did not ask for: {', '.join(unknown[:5])[:200]}.")
    for key, item in value.items():
        if item is not None and not (isinstance(item, dict) and isinstance(item.get("resourceType"), str)):
            raise _invalid(f"prefetch.{key} must be a FHIR resource or null.")
    return dict(value)


def _fhir_access(body: Mapping[str, Any]) -> tuple[str | None, FhirAuthorization | None]:
    server, auth = body.get("fhirServer"), body.get("fhirAuthorization")
    if server is not None:
        try:
            server = absolute_url(server) if isinstance(server, str) else _bad_server()
        except ValueError:
            server = _bad_server()
    if auth is None:
        return server, None
    if server is None:
        raise _invalid("fhirAuthorization needs fhirServer.")
    token, token_type = (
        (auth.get("access_token"), auth.get("token_type")) if isinstance(auth, dict) else (None, None)
    )
    if not isinstance(token, str) or not token or str(token_type).lower() != "bearer":
        raise _invalid("fhirAuthorization must hold a Bearer access_token.")
    scope = auth.get("scope")
    return server, FhirAuthorization(token, scope if isinstance(scope, str) else "")


def _bad_server() -> str:
    raise _invalid("fhirServer must be an absolute http(s) URL.")


def _invalid(message: str) -> CdsRequestInvalid:
    return CdsRequestInvalid(message, _HINT)
