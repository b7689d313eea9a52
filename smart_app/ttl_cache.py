"""A small thread-safe cache whose entries expire: a cache, not state, so any worker may rebuild it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values by string key, each kept for ``ttl_seconds`` after it was loaded."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[str], V]) -> V:
        """The cached value, or ``load(key)`` (not cached when it raises)."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry and entry[0] > now:
            return entry[1]
        value = load(key)
        with self._lock:
            self._entries[key] = (now + self._ttl, value)
        return value
