"""The end-of-run check that no PHI, token or code reached any log of the app or the sandbox.

Every log record of the test process (the app runs in it) is kept, at DEBUG;
at the end of the session those records and the sandbox's own log files are
searched for the sentinel patient's data (seeded as Patient/wc-9), the
sentinel question text, and every token, code and cookie that tests
registered with ``remember_secret``. One hit fails the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

SENTINEL_PATIENT = "wc-9"
SENTINEL_QUESTION = "Does the Quillfeatherby sentinel tendon need surgery?"
SENTINELS = (
    "Sentinelle",
    "Quillfeatherby",
    "1947-07-13",
    "WC-SENTINEL-7731",
    "MRN-WC-9",
    "Sentinel tendinopathy",
    SENTINEL_QUESTION,
)
_secrets: set[str] = set()
_kept: list[str] = []


def remember_secret(value: str | None) -> None:
    """Add a token, code or cookie that must never appear in a log."""
    if value and len(value) >= 8:
        _secrets.add(value)


def captured_logs() -> str:
    """Everything logged in this process so far, one record a line."""
    return "\n".join(_kept)


class _Keep(logging.Handler):
    """Keeps every formatted record, with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts = _kept
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def phi_free_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the run if a sentinel, token or code appears in any log output."""
    keep, root = _Keep(), logging.getLogger()
    level = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(keep)
        root.setLevel(level)
    logs = keep.texts + [p.read_text(errors="replace") for p in _sandbox_logs(tmp_path_factory)]
    leaks = sorted({value for value in (*SENTINELS, *_secrets) for text in logs if value in text})
    if leaks:  # name the kind, not the value: the report itself is a log
        pytest.fail(f"{len(leaks)} sentinel or secret value(s) reached the logs", pytrace=False)


def _sandbox_logs(factory: pytest.TempPathFactory) -> list[Path]:
    return sorted(factory.getbasetemp().glob("**/*.log"))
