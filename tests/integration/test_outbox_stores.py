"""The outbox and the schema on both stores: SQLite (embedded) and PostgreSQL (scale-out)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import timedelta
from multiprocessing import get_context
from multiprocessing.synchronize import Barrier
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from smart_app.crypto import DataKeys, new_key_line
from smart_app.migrations.runner import MIGRATIONS
from smart_app.referrals.outbox import LEASE, NewDelivery, Outbox, enqueue
from smart_app.services import utcnow
from smart_app.store import Base, DeliveryRecord, Store, for_patient
from tests.integration.stores import postgres_database


def _head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


HEAD = _head()  # the newest migration: every store ends there


def _new(referral_id: str) -> NewDelivery:
    return NewDelivery(
        referral_id=referral_id, iss="https://ehr.example.org/fhir", fhir_user="Practitioner/a",
        service_request_id="sr", patient_reference="Patient/p", summary={"questions": ["Q?"]},
        receiver_url="https://clinic.example.org/fhir", payload={"resourceType": "Bundle"},
    )  # fmt: skip


def _queue(store: Store, count: int) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(count)]
    with store.transaction() as db:
        for referral_id in ids:
            enqueue(db, _new(referral_id), utcnow() - timedelta(seconds=1))
    return ids


def test_the_migrations_build_exactly_the_models(any_store: Store) -> None:
    with any_store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrating_twice_changes_nothing(any_store: Store) -> None:
    any_store.create_schema()
    with any_store.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


FIRST_SLICE_LAUNCHES = (
    "CREATE TABLE launches (id VARCHAR(64) PRIMARY KEY, state_hash VARCHAR(64) UNIQUE, "
    "registration VARCHAR(200) NOT NULL, iss VARCHAR(2000) NOT NULL, status VARCHAR(16) NOT NULL, "
    "code_verifier VARCHAR(128), nonce VARCHAR(128), created_at DATETIME NOT NULL, "
    "expires_at DATETIME NOT NULL, csrf_token VARCHAR(64) NOT NULL, access_token TEXT, "
    "refresh_token TEXT, token_expires_at DATETIME, scope TEXT, patient VARCHAR(200), "
    "encounter VARCHAR(200), fhir_user VARCHAR(2000), context_json TEXT, chart_json TEXT)"
)
FIRST_SLICE_REFERRALS = (
    "CREATE TABLE referrals (id VARCHAR(64) PRIMARY KEY, launch_id VARCHAR(64) NOT NULL "
    "REFERENCES launches(id) ON DELETE CASCADE, iss VARCHAR(2000) NOT NULL, "
    "service_request_id VARCHAR(64), status VARCHAR(16) NOT NULL, created_at DATETIME NOT NULL, "
    "updated_at DATETIME NOT NULL)"
)


def test_a_database_from_before_migrations_is_stamped_and_upgraded(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.sqlite3"
    old = create_engine(url)  # the first slice's schema, which had no alembic_version table
    with old.begin() as connection:
        connection.execute(text(FIRST_SLICE_LAUNCHES))
        connection.execute(text(FIRST_SLICE_REFERRALS))
    old.dispose()
    store = Store(url)
    store.create_schema()
    assert {"deliveries", "delivery_events", "alembic_version"} <= set(
        inspect(store.engine).get_table_names()
    )
    store.engine.dispose()


def test_a_claimed_row_is_leased_to_one_worker(any_store: Store) -> None:
    [referral_id] = _queue(any_store, 1)
    outbox, now = Outbox(any_store), utcnow()
    [claim] = outbox.claim("a", now)
    assert outbox.claim("b", now) == []
    assert outbox.claim("b", now + LEASE - timedelta(seconds=1)) == []
    [again] = outbox.claim("b", now + LEASE + timedelta(seconds=1))  # "a" died: its lease ran out
    assert not outbox.record(claim, "a", now, None, state="sent")  # a lost lease records nothing
    assert outbox.record(again, "b", now, ("delivered", None), state="sent")
    with any_store.transaction() as db:
        row = db.get(DeliveryRecord, referral_id)
        assert row is not None and (row.state, row.claimed_by) == ("sent", None)


def test_try_again_only_requeues_dead_letters(any_store: Store) -> None:
    [referral_id] = _queue(any_store, 1)
    outbox, now = Outbox(any_store), utcnow()
    assert not outbox.try_again(referral_id, now)
    [claim] = outbox.claim("a", now)
    outbox.record(claim, "a", now, ("failed", "refused"), state="dead", last_error="refused")
    assert outbox.claim("a", now + timedelta(days=1)) == []
    assert outbox.try_again(referral_id, now)
    assert [c.id for c in outbox.claim("a", now)] == [referral_id]


def test_concurrent_workers_never_claim_the_same_row(any_store: Store) -> None:
    ids = set(_queue(any_store, 200))
    claimed: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        outbox = Outbox(any_store)
        while batch := outbox.claim(name, utcnow(), limit=7):
            with lock:
                claimed.extend(c.id for c in batch)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(claimed) == sorted(ids)


def _migrate(urls: list[str], barrier: Barrier) -> None:
    for url in urls:
        barrier.wait(timeout=30)  # a process that failed breaks the barrier for the others
        store = Store(url)
        store.create_schema()
        store.engine.dispose()


def _migrate_at_once(urls: list[str], processes: int) -> list[int | None]:
    """Start ``processes`` processes that migrate each URL at the same instant, as gunicorn's workers do."""
    context = get_context("spawn")
    barrier = context.Barrier(processes)
    started = [context.Process(target=_migrate, args=(urls, barrier), daemon=True) for _ in range(processes)]
    for process in started:
        process.start()
    for process in started:
        process.join(timeout=120)
        process.kill()
    return [process.exitcode for process in started]


def test_workers_starting_together_on_a_new_sqlite_file_all_migrate(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'new-{attempt}.sqlite3'}" for attempt in range(8)]  # the race is timing
    assert _migrate_at_once(urls, 4) == [0, 0, 0, 0]
    for url in urls:
        store = Store(url)
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        store.engine.dispose()


def test_workers_starting_together_on_a_new_postgres_database_all_migrate() -> None:
    with postgres_database() as url:
        assert _migrate_at_once([url], 4) == [0, 0, 0, 0]


def test_the_outbox_keeps_no_phi_in_clear(any_store: Store) -> None:
    delivery = _new("phi-check")
    delivery = replace(
        delivery,
        patient_reference="Patient/wc-quill-9",
        summary={"patient": "Ada Quillfeatherby", "questions": ["Is the Quillfeatherby tendon torn?"]},
        payload={"resourceType": "Bundle", "entry": [{"resource": {"name": [{"text": "Ada Quillfeather"}]}}]},
    )
    with any_store.transaction() as db:
        enqueue(db, delivery, utcnow())
    with any_store.transaction() as db:
        row = db.get(DeliveryRecord, "phi-check")
        assert row is not None
        row.result_json, row.last_error = '{"answers": ["Quillfeatherby answer"]}', "Quillfeatherby refused"
    with any_store.engine.connect() as connection:
        raw = connection.execute(text("SELECT * FROM deliveries WHERE id = 'phi-check'")).one()
    assert not [value for value in raw if isinstance(value, str) and "quill" in value.lower()]
    with any_store.transaction() as db:  # and the app reads it back
        row = db.get(DeliveryRecord, "phi-check")
        assert row is not None and row.patient_reference == "Patient/wc-quill-9"
        assert "Quillfeatherby" in row.summary_json and "Quillfeather" in row.payload_json


def _for_patient(store: Store, iss: str, patient: str) -> set[str]:
    with store.reading() as db:
        return set(db.scalars(select(DeliveryRecord.id).where(for_patient(db, iss, patient))))


def test_a_patients_deliveries_are_found_by_blind_index_without_opening_the_others(any_store: Store) -> None:
    iss = "https://ehr.example.org/fhir"
    with any_store.transaction() as db:
        for n in range(30):
            enqueue(db, replace(_new(f"other-{n}"), patient_reference=f"Patient/p{n}"), utcnow())
        enqueue(db, replace(_new("mine"), patient_reference="Patient/wc-quill-9"), utcnow())
        enqueue(db, replace(_new("elsewhere"), iss="https://other.example.org/fhir",
                            patient_reference="Patient/wc-quill-9"), utcnow())  # fmt: skip
    assert _for_patient(any_store, iss, "Patient/wc-quill-9") == {"mine"}  # filtered in SQL
    with any_store.engine.connect() as connection:
        key = connection.execute(text("SELECT patient_key FROM deliveries WHERE id = 'mine'")).scalar_one()
    assert "quill" not in key.lower() and key.startswith("stores.")


def test_the_blind_index_survives_a_key_rotation_and_old_rows_get_theirs_at_start(tmp_path: Path) -> None:
    old_line, new_line = new_key_line("old"), new_key_line("new")
    url = f"sqlite:///{tmp_path / 'rotate.sqlite3'}"
    before = Store(url, DataKeys.parse(old_line))
    before.create_schema()
    with before.transaction() as db:
        enqueue(db, replace(_new("sealed-under-old"), patient_reference="Patient/r"), utcnow())
        enqueue(db, replace(_new("from-before-the-index"), patient_reference="Patient/r"), utcnow())
    with before.engine.begin() as connection:
        connection.execute(text("UPDATE deliveries SET patient_key = NULL WHERE id = :id"),
                           {"id": "from-before-the-index"})
    before.engine.dispose()
    rotated = Store(url, DataKeys.parse(f"{new_line} {old_line}"))
    rotated.create_schema()  # fills the missing index under the new key
    with rotated.transaction() as db:
        enqueue(db, replace(_new("sealed-under-new"), patient_reference="Patient/r"), utcnow())
    with rotated.engine.connect() as connection:
        keys: dict[str, str] = dict(connection.execute(text("SELECT id, patient_key FROM deliveries")).all())
    assert keys["sealed-under-old"].startswith("old.") and keys["from-before-the-index"].startswith("new.")
    assert _for_patient(rotated, "https://ehr.example.org/fhir", "Patient/r") == {
        "sealed-under-old", "from-before-the-index", "sealed-under-new"}
