"""An open FHIR endpoint, ``/open/fhir``: the EHR's data read (and written) without any token.

It stands in for public open servers such as HAPI's ``https://hapi.fhir.org/baseR4``
so the app's "open server" mode is tested over HTTP: each request is passed to
sekmet as ``/fhir…`` with a short-lived system token minted here. A request that
brings its own Authorization header is refused (400), so tests see that the app
sends none to an open server. Synthetic data only.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import jwt

from .gateway import AsgiApp, Receive, Scope, Send, send_outcome

OPEN_PREFIX = "/open/fhir"
TOKEN_TTL = 60


class OpenFhir:
    """Rewrites ``/open/fhir…`` to ``/fhir…`` and authorizes it as the sandbox itself."""

    def __init__(self, sekmet: AsgiApp, secret: Callable[[], str], fhir_base: str) -> None:
        self.sekmet = sekmet
        self.secret = secret
        self.fhir_base = fhir_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward one request with the path rewritten and a system bearer token."""
        if any(k.lower() == b"authorization" for k, _ in scope["headers"]):
            await send_outcome(send, 400, "security", "This open endpoint takes no credentials.")
            return
        path = "/fhir" + scope["path"].removeprefix(OPEN_PREFIX)
        headers = [*scope["headers"], (b"authorization", f"Bearer {self._token()}".encode())]
        await self.sekmet({**scope, "path": path, "raw_path": path.encode(), "headers": headers},
                          receive, send)

    def _token(self) -> str:
        now = int(time.time())
        claims = {"iss": self.fhir_base.removesuffix("/fhir"), "aud": self.fhir_base,
                  "sub": "open-endpoint", "client_id": "open-endpoint", "scope": "system/*.*",
                  "iat": now, "exp": now + TOKEN_TTL, "jti": secrets.token_hex(16)}
        return jwt.encode(claims, self.secret(), algorithm="HS256")
