"""Token buckets: a burst at once, then one every few seconds, per key; memory stays bounded."""

from __future__ import annotations

from smart_app.token_bucket import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_every_period_per_key() -> None:
    clock = Clock()
    buckets = TokenBuckets(burst=3, every=10.0, clock=clock)
    assert [buckets.take("a") for _ in range(4)] == [0, 0, 0, 10]
    assert buckets.take("b") == 0  # another key has its own bucket
    clock.now += 4
    assert buckets.take("a") == 6  # refused takes cost nothing
    clock.now += 6
    assert buckets.take("a") == 0 and buckets.take("a") == 10
    clock.now += 1000
    assert [buckets.take("a") for _ in range(4)] == [0, 0, 0, 10]  # refilled to the burst, no more


def test_the_least_recently_used_keys_are_forgotten() -> None:
    buckets = TokenBuckets(burst=1, every=60.0, max_keys=2, clock=Clock())
    assert buckets.take("a") == 0 and buckets.take("b") == 0
    assert buckets.take("c") == 0  # "a" is forgotten: it starts again with a full bucket
    assert buckets.take("a") == 0
    assert buckets.take("c") == 60
