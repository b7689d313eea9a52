"""A request's database unit: its reads and first write share one transaction, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from smart_app.http_pool import HttpPool
from smart_app.store import SeenJti, Store, release_unit

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _begins(store: Store) -> list[int]:
    counted = [0]

    def begun(_connection: object) -> None:
        counted[0] += 1

    event.listen(store.engine, "begin", begun)
    return counted


def _row(key: str) -> SeenJti:
    return SeenJti(key=key, expires_at=NOW)


def _ids(store: Store) -> set[str]:
    with store.reading() as db:
        return set(db.scalars(select(SeenJti.key)))


def test_reads_then_a_write_are_one_transaction_in_a_unit(any_store: Store) -> None:
    store = any_store
    begins = _begins(store)
    with store.request_unit():
        with store.reading() as db:
            assert db.get(SeenJti, "a") is None
        with store.reading() as db:
            db.scalars(select(SeenJti)).all()
        with store.transaction() as db:
            db.add(_row("a"))
    assert begins[0] == 1
    begins[0] = 0
    with store.reading() as db:  # outside a unit: one transaction per block, as before
        db.get(SeenJti, "a")
    with store.transaction() as db:
        db.add(_row("b"))
    assert begins[0] == 2
    assert _ids(store) == {"a", "b"}


def test_a_write_commits_at_the_end_of_its_block_and_the_next_block_begins_again(any_store: Store) -> None:
    store = any_store
    begins = _begins(store)
    with store.request_unit():
        with store.transaction() as db:
            db.add(_row("a"))
        assert "a" in _ids_elsewhere(store)  # committed: another session sees it
        with store.reading() as db:
            db.get(SeenJti, "a")
    assert begins[0] >= 2


def _ids_elsewhere(store: Store) -> set[str]:
    """Read through a connection of its own (not the unit's)."""
    with store.engine.connect() as connection:
        return {row[0] for row in connection.execute(text("SELECT key FROM cds_jtis"))}


def test_release_ends_the_open_reads_before_the_app_waits_on_the_network(any_store: Store) -> None:
    store = any_store
    begins = _begins(store)
    with store.request_unit():
        with store.reading() as db:
            db.get(SeenJti, "a")
        release_unit()
        with store.reading() as db:
            db.get(SeenJti, "a")
    assert begins[0] == 2


def test_a_failed_write_rolls_back_alone_and_the_unit_goes_on(any_store: Store) -> None:
    store = any_store
    with store.request_unit():
        with store.transaction() as db:
            db.add(_row("a"))
        with pytest.raises(IntegrityError), store.transaction() as db:
            db.add(_row("a"))  # the same id again
        with store.transaction() as db:
            db.add(_row("b"))
    assert _ids(store) == {"a", "b"}


def test_an_error_in_a_block_rolls_its_write_back(any_store: Store) -> None:
    store = any_store
    with store.request_unit():
        with pytest.raises(RuntimeError), store.transaction() as db:
            db.add(_row("a"))
            db.flush()
            raise RuntimeError("a check failed")
    assert _ids(store) == set()


def test_rows_leave_a_block_detached_and_a_nested_block_has_its_own_session(any_store: Store) -> None:
    store = any_store
    with store.request_unit():
        with store.transaction() as db:
            db.add(_row("a"))
        with store.reading() as db:
            row = db.get(SeenJti, "a")
            with store.transaction() as inner:  # a block inside a block: its own, as before
                assert inner is not db
                inner.add(_row("b"))
        assert row is not None and inspect(row).detached
        row.key = "changed in memory only"
        with store.transaction() as db:
            db.add(_row("c"))
    assert _ids(store) == {"a", "b", "c"}
    with store.reading() as db:
        kept = db.get(SeenJti, "a")
        assert kept is not None and kept.expires_at == NOW


def test_the_app_never_waits_on_another_server_inside_a_transaction(any_store: Store) -> None:
    """Every outbound request of the pool ends the unit's open reads first (PostgreSQL would otherwise
    hold a connection idle in transaction for as long as the EHR takes)."""
    store = any_store
    def no_content(_environ: dict[str, object], start: Callable[..., object]) -> list[bytes]:
        start("204 No Content", [])
        return []

    server = make_server("127.0.0.1", 0, no_content)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    begins, pool = _begins(store), HttpPool(5)
    try:
        with store.request_unit():
            with store.reading() as db:
                db.get(SeenJti, "a")
            assert pool.for_url(f"http://127.0.0.1:{server.server_port}/").get(
                f"http://127.0.0.1:{server.server_port}/", timeout=5).status_code == 204
            with store.transaction() as db:
                db.add(_row("a"))
    finally:
        server.shutdown()
        pool.close()
    assert begins[0] == 2  # the reads, then (after the call) the write: not one across the wait
