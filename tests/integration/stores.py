"""The two stores the app runs on: an SQLite file and a throwaway PostgreSQL database.

PostgreSQL runs on 127.0.0.1:5432 here and in CI (trust auth, database ``test``);
each test gets its own ``so_test_<random>`` database, dropped afterwards, because
other people use the same server. Without PostgreSQL the tests fail with a clear
message, unless ``SMART_APP_SKIP_POSTGRES=1``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from smart_app.crypto import DataKeys, new_key_line
from smart_app.store import Store

TEST_DATA_KEYS = DataKeys.parse(new_key_line("stores"))  # the outbox seals what it keeps about patients
POSTGRES_ADMIN_URL = os.environ.get(
    "SMART_APP_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database's URL, dropped when the block ends."""
    name = f"so_test_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError as error:
        admin.dispose()
        if os.environ.get("SMART_APP_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL is not reachable and SMART_APP_SKIP_POSTGRES=1")
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL.split('@')[-1]} ({type(error).__name__}); "
            "start it, or set SMART_APP_SKIP_POSTGRES=1 to skip the PostgreSQL tests",
            pytrace=False,
        )
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def store_on(kind: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated Store on ``sqlite`` or ``postgresql``."""
    if kind == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}", TEST_DATA_KEYS)
        store.create_schema()
        yield store
        store.engine.dispose()
        return
    with postgres_database() as url:
        store = Store(url, TEST_DATA_KEYS)
        store.create_schema()
        try:
            yield store
        finally:
            store.engine.dispose()
