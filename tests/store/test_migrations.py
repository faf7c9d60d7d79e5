"""migrations.py: versioned, ordered, recorded, idempotent and safe to start concurrently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa
from tasks.store.migrations import MIGRATIONS, Migration, SchemaTooNew, schema_version

from tasks import store
from tasks.store.db.tables import metadata


def versions(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        stmt = sa.select(schema_version.c.version).order_by(schema_version.c.version)
        return list(conn.scalars(stmt))


def test_fresh_database_is_created_once_and_recorded(db_url: str) -> None:
    assert store.migrate() == [1]
    assert store.migrate() == []
    engine = store.get_engine()
    assert versions(engine) == [1]
    with engine.connect() as conn:
        assert store.current_version(conn) == 1
        names = set(sa.inspect(conn).get_table_names())
    assert set(metadata.tables) | {"schema_version"} <= names


def test_unmigrated_database_is_version_zero(db_url: str) -> None:
    with store.get_engine().connect() as conn:
        assert store.current_version(conn) == 0


def test_concurrent_migrate_from_threads_applies_once(db_url: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            start.wait()
            results.append(store.migrate())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [[], [], [], [1]]
    assert versions(store.get_engine()) == [1]


CHILD = """
import json, sys
from tasks.store import migrate
print("ready", flush=True)
sys.stdin.readline()  # wait for the others, then all migrate at once
print(json.dumps(migrate()), flush=True)
"""


def test_concurrent_migrate_from_processes_applies_once(db_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD], env=dict(os.environ), text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.communicate()[1]
    outputs = [proc.communicate("go\n", timeout=50) for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert sorted(json.loads(out) for out, _ in outputs) == [[], [], [], [1]]
    assert versions(store.get_engine()) == [1]


def _extra(calls: list[int]) -> tuple[Migration, ...]:
    def add_table(conn: sa.Connection) -> None:
        calls.append(2)
        conn.exec_driver_sql("CREATE TABLE extra_things (id INTEGER PRIMARY KEY)")

    def add_column(conn: sa.Connection) -> None:
        calls.append(3)
        conn.exec_driver_sql("ALTER TABLE extra_things ADD COLUMN note VARCHAR(20)")

    return (*MIGRATIONS, Migration(2, "extra table", add_table),
            Migration(3, "extra column", add_column))


def test_existing_database_runs_only_its_pending_migrations_in_order(db_url: str) -> None:
    store.migrate()
    calls: list[int] = []
    assert store.migrate(migrations=_extra(calls)) == [2, 3]
    assert store.migrate(migrations=_extra(calls)) == []
    assert calls == [2, 3]
    assert versions(store.get_engine()) == [1, 2, 3]
    with store.transaction() as conn:
        conn.exec_driver_sql("INSERT INTO extra_things (id, note) VALUES (1, 'x')")


def test_fresh_database_records_later_versions_without_running_them(db_url: str) -> None:
    calls: list[int] = []
    assert store.migrate(migrations=_extra(calls)) == [1, 2, 3]
    assert calls == []  # migration 1 built the latest schema already
    assert versions(store.get_engine()) == [1, 2, 3]


def test_a_failing_migration_leaves_no_trace(db_url: str) -> None:
    store.migrate()

    def half_done(conn: sa.Connection) -> None:
        conn.exec_driver_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"):
        store.migrate(migrations=(*MIGRATIONS, Migration(2, "broken", half_done)))
    assert versions(store.get_engine()) == [1]
    with store.get_engine().connect() as conn:
        assert not sa.inspect(conn).has_table("half_done")  # the DDL rolled back too


def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    store.migrate()
    with store.transaction() as conn:
        conn.execute(schema_version.insert().values(
            version=7, name="from the future", applied_at=store.utcnow()))
    with pytest.raises(SchemaTooNew, match=r"\[7\]"):
        store.migrate()


@pytest.mark.parametrize("numbers", [[], [2], [1, 1], [1, 3, 2]])
def test_migration_versions_must_start_at_one_and_increase(numbers: list[int]) -> None:
    bad = [Migration(n, f"m{n}", lambda conn: None) for n in numbers]
    with pytest.raises(ValueError, match="must start at 1"):
        store.migrate(migrations=bad)
