"""Backoff and polling waits: exponential, jittered, capped."""

import random

from smart_app.referrals.outbox import Pacing, backoff_seconds, poll_seconds


def test_backoff_doubles_with_jitter_and_stops_at_the_cap() -> None:
    rng = random.Random(1)
    for attempts, ceiling in ((0, 2.0), (1, 4.0), (3, 16.0), (30, 600.0)):
        waits = [backoff_seconds(attempts, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered: two workers do not retry in step


def test_polling_slows_down_while_nothing_changes() -> None:
    assert [poll_seconds(n) for n in (0, 1, 2, 10)] == [2.0, 4.0, 8.0, 300.0]
    assert poll_seconds(0, Pacing(poll_base=5.0, poll_cap=7.0)) == 5.0
    assert poll_seconds(3, Pacing(poll_base=5.0, poll_cap=7.0)) == 7.0
