"""An authorization server on 127.0.0.1 that behaves like Inferno's mock, in front of a FHIR server.

It copies what the ONC Inferno SMART App Launch test kit's client suite serves
(``lib/smart_app_launch/endpoints/mock_smart_server*``): a ``.well-known/smart-configuration``
with no ``jwks_uri``, which only ``{issuer}/.well-known/openid-configuration`` names; id_tokens
(RS256, ``iss`` = the FHIR base, ``fhirUser`` absolute) with no ``nonce``; and, for a
symmetric client, a Basic header whose decoded value must equal ``client_id:client_secret``
exactly (``basic="raw"``). With ``basic="decoded"`` it reads Basic as RFC 6749 §2.3.1 says:
split at the first ``:``, then form-decode each part.

FHIR requests (``/fhir/...``) carrying a token it issued are forwarded to ``upstream`` with
``upstream_token`` instead, and the upstream's base is rewritten to this server's in answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_plus, urlencode

import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.sandbox_server import free_port

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
BasicReading = Literal["raw", "decoded"]


@dataclass
class Grant:
    """What an authorization code stands for."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str


@dataclass
class InfernoLikeServer:
    """The mock's documents, codes and tokens; ``seen`` lists every request's method and path."""

    client_id: str
    client_secret: str
    upstream: str | None = None  # a FHIR base, e.g. the sandbox's
    upstream_token: Callable[[], str] | None = None
    basic: BasicReading = "raw"
    openid_configuration: bool = True  # False: 404, as a server without OpenID discovery
    openid_issuer: str | None = None  # another issuer in the OpenID configuration than in the SMART one
    patient: str = "wc-1"
    practitioner: str = "atp-1"
    port: int = field(default_factory=free_port)
    seen: list[str] = field(default_factory=list)
    launches: list[str] = field(default_factory=list)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "mock-1"}))
    _http: requests.Session = field(default_factory=requests.Session)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def iss(self) -> str:
        return f"{self.root}/fhir"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(f"{request.method} {request.path}")
        routes: dict[str, Callable[[Request], Response]] = {
            "/fhir/.well-known/smart-configuration": self._smart_configuration,
            "/fhir/.well-known/openid-configuration": self._openid_configuration,
            "/auth/jwks": self._jwks,
            "/auth/authorize": self._authorize,
            "/auth/token": self._token,
        }
        handler = routes.get(request.path, self._fhir)
        return handler(request)(environ, start_response)

    def _smart_configuration(self, request: Request) -> Response:
        """As Inferno's: no jwks_uri; client_secret_basic and private_key_jwt."""
        return _json({
            "issuer": self.iss,
            "authorization_endpoint": f"{self.root}/auth/authorize",
            "token_endpoint": f"{self.root}/auth/token",
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "grant_types_supported": ["client_credentials", "authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-ehr", "launch-standalone", "client-public",
                             "client-confidential-symmetric", "client-confidential-asymmetric",
                             "sso-openid-connect", "context-ehr-patient", "permission-patient",
                             "permission-user", "permission-v1", "permission-v2"],
            "scopes_supported": ["openid", "fhirUser", "launch", "patient/*.read", "user/*.read"],
        })

    def _openid_configuration(self, request: Request) -> Response:
        if not self.openid_configuration:
            return _json({"error": "not found"}, 404)
        return _json({
            "issuer": self.openid_issuer or self.iss,
            "authorization_endpoint": f"{self.root}/auth/authorize",
            "token_endpoint": f"{self.root}/auth/token",
            "jwks_uri": f"{self.root}/auth/jwks",
            "response_types_supported": ["code", "id_token", "token id_token"],
            "subject_types_supported": ["pairwise", "public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    def _jwks(self, request: Request) -> Response:
        return _json(dict(KeySet([self._key]).as_dict(private=False)))

    def _authorize(self, request: Request) -> Response:
        """Issue the code at once (an EHR launch); state and redirect as RFC 6749 §4.1.2."""
        query = request.args
        wanted = {"response_type": "code", "client_id": self.client_id, "aud": self.iss,
                  "code_challenge_method": "S256"}
        if any(query.get(name) != value for name, value in wanted.items()) or not query.get("state"):
            return _json({"error": "invalid_request"}, 400)
        self.launches.append(query.get("launch", ""))
        code = secrets.token_urlsafe(16)
        self._codes[code] = Grant(self.client_id, query["redirect_uri"], query.get("scope", ""),
                                  query.get("code_challenge", ""))
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return Response(status=302, headers={"Location": location})

    def _token(self, request: Request) -> Response:
        if not self._authenticated(request.headers.get("Authorization", "")):
            return _json({"error": "invalid_client"}, 401)
        form = request.form
        if form.get("grant_type") == "client_credentials":
            return self._tokens_for(form.get("scope", ""), context=False)
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return _json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant.code_challenge or form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant"}, 400)
        return self._tokens_for(grant.scope, context=True)

    def _authenticated(self, header: str) -> bool:
        """Inferno: the decoded Basic value is ``client_id:client_secret``, compared raw."""
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
        except ValueError:
            return False
        if self.basic == "raw":
            return decoded == f"{self.client_id}:{self.client_secret}"
        client_id, _, secret = decoded.partition(":")
        return (unquote_plus(client_id), unquote_plus(secret)) == (self.client_id, self.client_secret)

    def _tokens_for(self, scope: str, context: bool) -> Response:
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                "scope": scope}
        if context:
            body["patient"] = self.patient
            if "openid" in scope.split():
                body["id_token"] = self._id_token()
        return _json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _id_token(self) -> str:
        """As Inferno's: no nonce; iss is the FHIR base, fhirUser absolute on it."""
        now = int(time.time())
        claims = {"iss": self.iss, "sub": f"practitioner-{self.practitioner}", "aud": self.client_id,
                  "exp": now + 365 * 86400, "iat": now,
                  "fhirUser": f"{self.iss}/Practitioner/{self.practitioner}"}
        return jwt.encode({"alg": "RS256", "kid": "mock-1", "typ": "JWT"}, claims, self._key)

    def _fhir(self, request: Request) -> Response:
        if self.upstream is None or self.upstream_token is None or not request.path.startswith("/fhir"):
            return _json({"resourceType": "OperationOutcome"}, 404)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self._tokens:
            return _json({"resourceType": "OperationOutcome"}, 401)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        headers["Authorization"] = f"Bearer {self.upstream_token()}"
        path = request.full_path.removeprefix("/fhir").rstrip("?")
        answer = self._http.request(request.method, f"{self.upstream}{path}", headers=headers,
                                    data=request.get_data(), timeout=30)
        body = answer.content.replace(self.upstream.encode(), self.iss.encode())
        kept = [(k, v.replace(self.upstream, self.iss)) for k, v in answer.headers.items()
                if k.lower() not in HOP_HEADERS]
        return Response(body, status=answer.status_code, headers=kept)


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


@contextmanager
def inferno_like_server(client_id: str, client_secret: str, **options: Any) -> Iterator[InfernoLikeServer]:
    """Serve an InfernoLikeServer in a thread until the block ends."""
    server = InfernoLikeServer(client_id, client_secret, **options)
    http = make_server("127.0.0.1", server.port, server, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="inferno-like", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        thread.join(timeout=5)
        server._http.close()
