"""Alembic environment: runs on the connection ``smart_app.store.migrate`` hands over, or on a URL.

``alembic upgrade head`` (alembic.ini at the repository root) uses ``SMART_APP_DATABASE_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from smart_app.store import Base

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = os.environ.get("SMART_APP_DATABASE_URL", "sqlite:///.data/smart_app.sqlite3")
    with create_engine(url).connect() as own:
        context.configure(connection=own, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
