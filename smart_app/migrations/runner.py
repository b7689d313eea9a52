"""Bring a database to the newest schema with Alembic: https://alembic.sqlalchemy.org/en/latest/api/commands.html.

Called at start-up by every process (gunicorn starts its workers together), so
the processes take turns: on PostgreSQL under an advisory lock, on an SQLite
file under an exclusive ``flock`` on a lock file beside it (SQLite runs DDL
outside the migration's transaction, so its own locking cannot make a
migration atomic). A database created before migrations existed (tables, no
``alembic_version``) is stamped at the first revision, then upgraded.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent
ADVISORY_LOCK_KEY = 7_301_962  # any constant: "Second Opinion is migrating"


def upgrade(engine: Engine) -> None:
    """Migrate to head; safe when several processes start at once."""
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "launches" in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrating`` while migrating an SQLite file."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # not SQLite, or an in-memory database only this process sees
        return
    descriptor = os.open(f"{database}.migrating", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
