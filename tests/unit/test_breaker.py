"""The per-EHR guard: a circuit breaker and a cap on the threads one EHR may hold."""

from __future__ import annotations

import threading

import pytest

from smart_app.chart.breaker import Guard, GuardPolicy, Guards
from smart_app.errors import EhrUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fail(guard: Guard) -> None:
    with guard.call():
        guard.failed()


def test_the_breaker_opens_after_consecutive_failures_and_lets_one_trial_through_later() -> None:
    clock = Clock()
    guard = Guard(GuardPolicy(failures_to_open=3, open_seconds=30), clock)
    for _ in range(3):
        _fail(guard)
    assert guard.is_open
    with pytest.raises(EhrUnavailable, match="not calling it"):
        with guard.call():
            pass
    clock.now += 31
    with guard.call():  # half-open: one trial
        with pytest.raises(EhrUnavailable):
            with guard.call():  # a second caller during the trial is refused
                pass
        guard.succeeded()
    assert not guard.is_open
    with guard.call():
        pass


def test_a_failed_trial_opens_the_breaker_again() -> None:
    clock = Clock()
    guard = Guard(GuardPolicy(failures_to_open=2, open_seconds=10), clock)
    _fail(guard)
    _fail(guard)
    clock.now += 11
    _fail(guard)
    assert guard.is_open


def test_a_success_resets_the_count() -> None:
    guard = Guard(GuardPolicy(failures_to_open=2), Clock())
    _fail(guard)
    with guard.call():
        guard.succeeded()
    _fail(guard)
    assert not guard.is_open


def test_one_ehr_holds_at_most_max_in_flight_threads() -> None:
    guard = Guard(GuardPolicy(max_in_flight=2, slot_wait_seconds=0.05))
    holding, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with guard.call():
            holding.wait()
            release.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    holding.wait()
    with pytest.raises(EhrUnavailable, match="already waiting"):
        with guard.call():
            pass
    release.set()
    for t in threads:
        t.join()
    with guard.call():
        pass


def test_guards_are_per_server() -> None:
    guards = Guards()
    assert guards.for_base("http://A/fhir/") is guards.for_base("http://a/fhir")
    assert guards.for_base("http://a/fhir") is not guards.for_base("http://b/fhir")
