"""A real HTTP proxy on 127.0.0.1 that injects faults in front of a FHIR server.

Each request to a FHIR path takes the next scripted fault (or, with ``rate``,
a random one); ``pass`` forwards it. ``forward-then-502`` forwards the request
and then answers 502, as when the answer is lost after the server has written:
the client cannot tell, and must be able to send again safely.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
RANDOM_FAULTS = ("500", "503", "429", "timeout", "forward-then-502")


@dataclass
class FaultScript:
    """What the proxy does next; thread-safe."""

    upstream: str  # "http://127.0.0.1:PORT" (origin only)
    faults: deque[str] = field(default_factory=deque)
    rate: float = 0.0  # probability of a random fault when the script is empty
    retry_after: str = "1"
    hang_seconds: float = 2.0
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    choices: tuple[str, ...] = RANDOM_FAULTS

    def next_fault(self, path: str) -> str:
        with self.lock:
            self.seen.append(path)
            if "/.well-known/" in path:
                return "pass"
            if self.faults:
                return self.faults.popleft()
            if self.rate and self.rng.random() < self.rate:
                return self.rng.choice(self.choices)
            return "pass"


def _handler(script: FaultScript) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            return

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = script.next_fault(self.path)
            if fault == "timeout":
                time.sleep(script.hang_seconds)
                self._answer(504, b"", {})
                return
            if fault in ("500", "503", "400", "404", "422"):
                self._answer(int(fault), b'{"resourceType":"OperationOutcome"}', {})
                return
            if fault == "429":
                self._answer(429, b"", {"Retry-After": script.retry_after})
                return
            upstream = requests.request(
                self.command,
                script.upstream + self.path,
                data=body,
                headers={k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS},
                timeout=30,
            )
            if fault == "forward-then-502":
                self._answer(502, b"", {})
                return
            headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
            self._answer(upstream.status_code, upstream.content, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer

        do_GET = do_POST = do_PUT = _any

    return Handler


@contextmanager
def fault_proxy(
    upstream: str, faults: Sequence[str] = (), rate: float = 0.0
) -> Iterator[tuple[str, FaultScript]]:
    """Run the proxy until the block ends; yields its origin URL and the script."""
    script = FaultScript(upstream=upstream.rstrip("/"), faults=deque(faults), rate=rate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
