"""SMART configuration discovery: https://hl7.org/fhir/smart-app-launch/conformance.html.

``{iss}/.well-known/smart-configuration`` first; SMART v1 servers that lack it
are read from the CapabilityStatement's ``oauth-uris`` extension. Where neither
names a ``jwks_uri`` (Inferno's mock server keeps it out of its SMART document),
it is read from ``{issuer}/.well-known/openid-configuration`` (OpenID Connect
Discovery 1.0 §4). Relative endpoint URLs are resolved against the iss. Results
are cached per iss for a few minutes (a cache, not state: any worker may rebuild it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from smart_app.http_pool import HttpPool
from smart_app.smart.errors import DiscoveryFailed, EndpointUnreachable
from smart_app.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class SmartConfiguration:
    """The endpoints and capabilities an EHR advertises."""

    authorization_endpoint: str
    token_endpoint: str
    issuer: str | None = None
    jwks_uri: str | None = None
    capabilities: frozenset[str] = frozenset()
    code_challenge_methods: frozenset[str] = frozenset()
    grant_types: frozenset[str] = frozenset()
    auth_methods: frozenset[str] = frozenset()
    issuer_in_response: bool = False  # RFC 9207 authorization_response_iss_parameter_supported


def smart_configuration_from_json(doc: Mapping[str, Any], iss: str) -> SmartConfiguration:
    """Validate a ``.well-known/smart-configuration`` document (SMART 2.2 §Metadata)."""
    methods = frozenset(_strings(doc.get("code_challenge_methods_supported")))
    if methods and "S256" not in methods:
        raise DiscoveryFailed("This EHR does not support PKCE S256, which Second Opinion requires.")
    return SmartConfiguration(
        authorization_endpoint=_endpoint(doc.get("authorization_endpoint"), iss),
        token_endpoint=_endpoint(doc.get("token_endpoint"), iss),
        issuer=doc["issuer"] if isinstance(doc.get("issuer"), str) else None,
        jwks_uri=_endpoint(doc["jwks_uri"], iss) if doc.get("jwks_uri") else None,
        capabilities=frozenset(_strings(doc.get("capabilities"))),
        code_challenge_methods=methods,
        grant_types=frozenset(_strings(doc.get("grant_types_supported"))),
        auth_methods=frozenset(_strings(doc.get("token_endpoint_auth_methods_supported"))),
        issuer_in_response=doc.get("authorization_response_iss_parameter_supported") is True,
    )


def smart_configuration_from_capability_statement(
    doc: Mapping[str, Any], iss: str
) -> SmartConfiguration:
    """Read the SMART v1 ``oauth-uris`` extension of ``rest[0].security``."""
    for rest in doc.get("rest") or []:
        for extension in (rest.get("security") or {}).get("extension") or []:
            if extension.get("url") != OAUTH_URIS:
                continue
            uris = {e.get("url"): e.get("valueUri") for e in extension.get("extension") or []}
            return SmartConfiguration(
                authorization_endpoint=_endpoint(uris.get("authorize"), iss),
                token_endpoint=_endpoint(uris.get("token"), iss),
            )
    raise DiscoveryFailed("This EHR does not advertise SMART on FHIR endpoints.")


def jwks_uri_from_openid_configuration(doc: Mapping[str, Any], issuer: str) -> str | None:
    """The ``jwks_uri`` of ``{issuer}/.well-known/openid-configuration``, if it names one.

    OpenID Connect Discovery 1.0 §4.3: the document's ``issuer`` must be identical to the
    issuer its URL was built from, or the document "MUST NOT be used".
    """
    if doc.get("issuer") != issuer:
        raise DiscoveryFailed("This EHR's OpenID configuration is for another issuer.")
    return _endpoint(doc["jwks_uri"], issuer) if doc.get("jwks_uri") else None


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _endpoint(value: object, iss: str) -> str:
    """An absolute URL (relative ones resolved against the iss), https unless on this machine."""
    if not isinstance(value, str) or not value:
        raise DiscoveryFailed("This EHR's SMART configuration is incomplete.")
    value = urljoin(f"{iss.rstrip('/')}/", value)
    parts = urlsplit(value)
    loopback = urlsplit(iss).hostname in LOOPBACK_HOSTS and parts.hostname in LOOPBACK_HOSTS
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise DiscoveryFailed("This EHR's SMART configuration names an endpoint that is not secure.")
    return value


class Discovery:
    """Fetches and caches each registered EHR's SMART configuration."""

    def __init__(self, http: HttpPool, ttl_seconds: float = 300.0) -> None:
        self._http = http
        self._cache: TtlCache[SmartConfiguration] = TtlCache(ttl_seconds)

    def configuration(self, iss: str) -> SmartConfiguration:
        """The configuration for ``iss`` (cached)."""
        return self._cache.get(iss, self._fetch)

    def _fetch(self, iss: str) -> SmartConfiguration:
        config = self._smart_configuration(iss)
        if config.jwks_uri is not None:
            return config
        issuer = config.issuer or iss
        openid = self._get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration", iss)
        if openid is None:
            return config
        return dataclasses.replace(config, jwks_uri=jwks_uri_from_openid_configuration(openid, issuer))

    def _smart_configuration(self, iss: str) -> SmartConfiguration:
        doc = self._get_json(f"{iss}/.well-known/smart-configuration", iss)
        if doc is not None:
            return smart_configuration_from_json(doc, iss)
        metadata = self._get_json(f"{iss}/metadata", iss)
        if metadata is None:
            raise DiscoveryFailed("This EHR does not publish a SMART configuration.")
        return smart_configuration_from_capability_statement(metadata, iss)

    def _get_json(self, url: str, iss: str) -> Mapping[str, Any] | None:
        session = self._http.for_url(url)
        try:
            response = session.get(
                url, headers={"Accept": "application/json"}, timeout=self._http.timeout
            )
        except requests.RequestException as error:
            logger.warning("discovery.unreachable error=%s", type(error).__name__)
            raise EndpointUnreachable("The EHR could not be reached to start the launch.") from error
        if response.status_code in (404, 410):
            return None
        try:
            doc = response.json() if response.ok else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            logger.warning("discovery.bad_response status=%s", response.status_code)
            raise DiscoveryFailed("The EHR's SMART configuration could not be read.")
        return doc
