"""A real HTTP proxy on 127.0.0.1 in front of the sandbox EHR's FHIR server that injects faults.

Tests point a launch's FHIR base at the proxy; each ``Fault`` matches requests
by method and a fragment of the path and answers in its place (a status and
body), after a delay (``delay_before``/``delay_after`` forwarding, so a slow
write still lands), or by rewriting the EHR's JSON answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.sandbox_server import free_port

Json = dict[str, Any]
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Fault:
    """One injected behaviour; ``times`` bounds how often it fires (None: always)."""

    method: str = "*"
    path: str = ""
    status: int | None = None
    body: str | bytes = ""
    content_type: str = "application/fhir+json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_before: float = 0.0
    delay_after: float = 0.0
    rewrite: Callable[[Json], Json] | None = None
    times: int | None = None

    def matches(self, request: Request) -> bool:
        """True when this fault applies to ``request``."""
        return (self.method in ("*", request.method)) and self.path in request.full_path


class FaultProxy:
    """Forwards ``/fhir/...`` to the upstream FHIR base unless a fault says otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.faults: list[Fault] = []
        self.seen: list[str] = []
        self._http = requests.Session()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(f"{request.method} {request.full_path.rstrip('?')}")
        fault = next((f for f in self.faults if f.matches(request)), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
        return self._answer(request, fault)(environ, start_response)

    def _answer(self, request: Request, fault: Fault | None) -> Response:
        if fault is not None:
            time.sleep(fault.delay_before)
        if fault is not None and fault.status is not None:
            return Response(fault.body, status=fault.status, headers=fault.headers,
                            content_type=fault.content_type)
        upstream = self._forward(request)
        if fault is not None:
            time.sleep(fault.delay_after)
        body = upstream.content.replace(self.upstream.encode(), self.base.encode())
        if fault is not None and fault.rewrite is not None:
            body = json.dumps(fault.rewrite(json.loads(body))).encode()
        headers = [(k, v.replace(self.upstream, self.base)) for k, v in upstream.headers.items()
                   if k.lower() not in HOP_HEADERS]
        return Response(body, status=upstream.status_code, headers=headers)

    def _forward(self, request: Request) -> requests.Response:
        path = request.full_path.removeprefix("/fhir").rstrip("?")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
        return self._http.request(request.method, f"{self.upstream}{path}", headers=headers,
                                  data=request.get_data(), timeout=30)


@contextmanager
def running_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Serve a FaultProxy in a thread until the block ends."""
    proxy = FaultProxy(upstream)
    server = make_server("127.0.0.1", proxy.port, proxy, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        thread.join(timeout=5)
        proxy._http.close()
