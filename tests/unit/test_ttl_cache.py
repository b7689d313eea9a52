"""The discovery and JWKS cache: values are reused until they expire, failures are not cached."""

from __future__ import annotations

import pytest

from smart_app.errors import LaunchError
from smart_app.ttl_cache import TtlCache


class Loader:
    """Counts its loads."""

    def __init__(self) -> None:
        self.loads: list[str] = []

    def __call__(self, key: str) -> str:
        self.loads.append(key)
        return f"config of {key}"


def test_a_value_is_loaded_once_while_fresh() -> None:
    load, cache = Loader(), TtlCache[str](ttl_seconds=60)
    for _ in range(3):
        assert cache.get("iss", load) == "config of iss"
    assert load.loads == ["iss"]


def test_an_expired_value_is_loaded_again() -> None:
    load, cache = Loader(), TtlCache[str](ttl_seconds=0)
    cache.get("iss", load)
    cache.get("iss", load)
    assert load.loads == ["iss", "iss"]


def test_a_failed_load_is_not_cached() -> None:
    cache: TtlCache[str] = TtlCache(ttl_seconds=60)

    def fail(key: str) -> str:
        raise LaunchError("unreachable")

    with pytest.raises(LaunchError):
        cache.get("iss", fail)
    assert cache.get("iss", lambda key: "recovered") == "recovered"
