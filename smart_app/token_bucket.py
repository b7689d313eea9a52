"""Token buckets per key, in this process: a burst at once, then one every few seconds.

A limit, not state: each process (each gunicorn worker) keeps its own buckets, so N workers
allow N times the rate; what must hold across them is enforced in the database instead.
The least recently used keys are forgotten past ``max_keys``, so memory stays bounded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    """``burst`` takes at once per key, refilled at one every ``every`` seconds."""

    def __init__(self, burst: int, every: float, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._burst, self._every, self._max_keys, self._clock = burst, every, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when ``key`` may go now (one token taken); else the whole seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - at) / self._every)
            wait = 0 if tokens >= 1 else max(1, math.ceil((1 - tokens) * self._every))
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait
