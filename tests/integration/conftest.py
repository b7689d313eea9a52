"""Fixtures of the integration tests beyond the sandbox and the app: the two stores, the app's keys."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from smart_app.keys import KeyRing
from smart_app.services import services
from smart_app.store import Store
from tests.integration.stores import store_on


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on each backend in turn."""
    with store_on(request.param, tmp_path) as store:
        yield store


@pytest.fixture
def postgres_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store in a throwaway PostgreSQL database."""
    with store_on("postgresql", tmp_path) as store:
        yield store


@pytest.fixture
def keys(flask_app: Flask) -> KeyRing:
    """The app's signing keys (the sandbox clinic trusts their JWKS)."""
    with flask_app.app_context():
        return services().keys
