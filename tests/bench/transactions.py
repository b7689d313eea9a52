"""The app's real database transactions, counted at the engine (SQLAlchemy's "begin" event).

A ``store.transaction()`` that runs no SQL begins none; any other code that reaches the engine
is counted too. Each is filed under the request that began it (method and Flask URL rule,
e.g. ``POST /l/<key>/referrals``) and under the app's function that ran its first statement.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from types import FrameType

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

NO_REQUEST = "(outside a request)"
_OURS = f"{Path('smart_app')}/"


class EngineTransactions:
    """Counts the transactions ``engine`` begins, by request and by caller, until ``remove()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.by_request: collections.Counter[str] = collections.Counter()
        self.by_caller: collections.Counter[str] = collections.Counter()
        event.listen(engine, "begin", self._begun)

    @property
    def total(self) -> int:
        """Transactions begun since the start or the last ``clear()``."""
        return sum(self.by_request.values())

    def clear(self) -> None:
        """Start counting again from zero."""
        self.by_request.clear()
        self.by_caller.clear()

    def remove(self) -> None:
        """Stop counting."""
        event.remove(self.engine, "begin", self._begun)

    def _begun(self, connection: Connection) -> None:
        self.by_request[_request_label()] += 1
        self.by_caller[_caller()] += 1


def _request_label() -> str:
    if not has_request_context():
        return NO_REQUEST
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return f"{request.method} {rule}"


def _caller() -> str:
    """``file:function`` of the innermost frame of the app's code (smart_app/) on the stack, past
    ``Store.transaction`` (whose exit flushes what its caller added)."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        passing = code.co_filename.endswith("store.py") and code.co_name == "transaction"
        if _OURS in code.co_filename and not passing:
            return f"{Path(code.co_filename).name}:{code.co_name}"
        frame = frame.f_back
    return "(not the app's code)"
