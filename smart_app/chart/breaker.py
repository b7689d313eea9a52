"""One slow EHR must not take the app down: a circuit breaker and a concurrency cap per FHIR server.

Each FHIR base URL gets a ``Guard``: at most ``max_in_flight`` calls wait on it
at once (the rest are refused after a short wait, so threads stay free for
other EHRs and ``/healthz``), and after ``failures_to_open`` consecutive failures to answer it
is not called for ``open_seconds``; then one trial call decides whether it is
back (the circuit-breaker pattern, https://martinfowler.com/bliki/CircuitBreaker.html).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app

from smart_app.errors import EhrUnavailable

CONNECT_TIMEOUT_SECONDS = 3.05  # a connect needs one round trip; a loaded EHR still accepts in time
MAX_IN_FLIGHT = 16  # per FHIR server and process: half the threads of a worker (gunicorn_conf.py)
SLOT_WAIT_SECONDS = 0.5  # a busy but healthy EHR frees a slot in milliseconds
FAILURES_TO_OPEN = 3
OPEN_SECONDS = 30.0


@dataclass(frozen=True)
class GuardPolicy:
    """How much time and how many threads one FHIR server may take."""

    max_in_flight: int = MAX_IN_FLIGHT
    slot_wait_seconds: float = SLOT_WAIT_SECONDS
    failures_to_open: int = FAILURES_TO_OPEN
    open_seconds: float = OPEN_SECONDS


class Guard:
    """The breaker and the concurrency cap of one FHIR server."""

    def __init__(self, policy: GuardPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._slots = threading.BoundedSemaphore(policy.max_in_flight)
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self._trial = False
        self.batch_refused = False  # learnt from the server: its reads go out in parallel
        self.transaction_refused = False  # learnt from the server: its writes go one by one

    @contextmanager
    def call(self) -> Iterator[None]:
        """Hold a slot for one call, or refuse at once when the server is failing or saturated."""
        self._admit()
        if not self._slots.acquire(timeout=self._policy.slot_wait_seconds):
            self._end_trial()
            raise EhrUnavailable(
                "The EHR is answering slowly and Second Opinion is already waiting on it.",
                "Try again in a minute; nothing was sent.",
            )
        try:
            yield
        finally:
            self._slots.release()
            self._end_trial()

    def succeeded(self) -> None:
        """The server answered (any HTTP status it chose to send): close the circuit."""
        with self._lock:
            self._failures, self._open_until = 0, 0.0

    def failed(self) -> None:
        """The server did not answer, or answered 5xx: count it; open the circuit at the limit."""
        with self._lock:
            self._failures += 1
            if self._failures >= self._policy.failures_to_open:
                self._open_until = self._clock() + self._policy.open_seconds

    @property
    def is_open(self) -> bool:
        """True while calls are refused without trying."""
        with self._lock:
            return self._clock() < self._open_until

    def _admit(self) -> None:
        with self._lock:
            tripped = self._failures >= self._policy.failures_to_open
            if not tripped:
                return
            if self._clock() < self._open_until or self._trial:
                raise EhrUnavailable(
                    "The EHR has not been answering, so Second Opinion is not calling it for a moment.",
                    "Try again in a minute; nothing was sent.",
                )
            self._trial = True  # half-open: this call is the one trial

    def _end_trial(self) -> None:
        with self._lock:
            self._trial = False


class Guards:
    """One Guard per FHIR base URL, created on first use."""

    def __init__(self, policy: GuardPolicy | None = None) -> None:
        self._policy = policy or GuardPolicy()
        self._guards: dict[str, Guard] = {}
        self._lock = threading.Lock()

    def for_base(self, base_url: str) -> Guard:
        """The guard of this server."""
        key = base_url.rstrip("/").lower()
        with self._lock:
            guard = self._guards.get(key)
            if guard is None:
                guard = self._guards[key] = Guard(self._policy)
            return guard


def guards() -> Guards:
    """The current app's guards (one set per app, shared by its threads)."""
    found: Guards = current_app.extensions.setdefault("ehr_guards", Guards())
    return found
