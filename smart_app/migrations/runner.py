"""Bring a database to the newest schema with Alembic: https://alembic.sqlalchemy.org/en/latest/api/commands.html.

Called at start-up by every process; on PostgreSQL an advisory lock makes the
processes take turns, on SQLite a process that loses the race runs again and
finds the work done. A database created before migrations existed (tables, no
``alembic_version``) is stamped at the first revision, then upgraded.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

MIGRATIONS = Path(__file__).resolve().parent
ADVISORY_LOCK_KEY = 7_301_962  # any constant: "Second Opinion is migrating"


def upgrade(engine: Engine) -> None:
    """Migrate to head; safe when several workers start at once."""
    try:
        _upgrade(engine)
    except (OperationalError, ProgrammingError):  # another process migrated between look and create
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "launches" in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
