"""Alembic migrations for the app's database (SQLite and PostgreSQL), run by ``Store.create_schema``."""
