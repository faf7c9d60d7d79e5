"""Alembic migrations: ordered, recorded, idempotent, atomic and safe to start concurrently."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tasks import store
from tasks.store.db import migrate as migrations
from tasks.store.db.tables import metadata

HEAD = migrations.script_directory().get_current_head()

REVISION = '''
"""{message}."""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''


def current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return store.current_revision(conn)


def table_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


@pytest.fixture
def add_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], str]:
    """Append a revision (after the last one) to a copy of the store's revisions."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", copy)
    chain = [HEAD]

    def add(message: str, body: str) -> str:
        rev = f"{len(chain) + 1:04d}"
        text = REVISION.format(message=message, rev=rev, down=chain[-1], body=body)
        (copy / "versions" / f"{rev}_extra.py").write_text(text, encoding="utf-8")
        chain.append(rev)
        return rev

    return add


def test_a_fresh_database_is_built_once_and_recorded(db_url: str) -> None:
    assert store.migrate() == [HEAD]
    assert store.migrate() == []
    engine = store.get_engine()
    assert current(engine) == HEAD
    assert table_names(engine) == set(metadata.tables) | {"alembic_version"}


def test_the_revisions_build_exactly_what_tables_py_describes(db_url: str) -> None:
    store.migrate()
    with store.get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_an_unmigrated_database_has_no_revision(db_url: str) -> None:
    assert current(store.get_engine()) is None


def test_concurrent_migrate_from_threads_applies_once(db_url: str) -> None:
    results: list[list[str]] = []
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
    assert sorted(results) == [[], [], [], [HEAD]]


# What a worker runs at start (the worker_init handler), in four processes released at once.
CHILD = """
import sys
import structlog
structlog.configure(processors=[structlog.processors.JSONRenderer()])
from tasks import startup
print("ready", flush=True)
sys.stdin.readline()
startup.migrate_store()
"""


def test_concurrent_worker_starts_apply_the_revisions_once(db_url: str) -> None:
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
    logs = [json.loads(line) for out, err in outputs for line in (out + err).splitlines()
            if '"store_ready"' in line]
    assert sorted(log["migrations_applied"] for log in logs) == [[], [], [], [HEAD]]
    assert current(store.get_engine()) == HEAD


def test_an_existing_database_runs_only_its_pending_revisions_in_order(
    db_url: str, add_revision: Callable[[str, str], str]
) -> None:
    assert store.migrate() == [HEAD]
    second = add_revision("extra table", '    op.execute("CREATE TABLE extra (id INTEGER)")')
    third = add_revision("extra column",
                         '    op.add_column("extra", sa.Column("note", sa.String(20)))')
    assert store.migrate() == [second, third]
    assert store.migrate() == []
    assert current(store.get_engine()) == third
    with store.transaction() as conn:
        conn.exec_driver_sql("INSERT INTO extra (id, note) VALUES (1, 'x')")


def test_upgrade_stops_at_the_target_revision(
    db_url: str, add_revision: Callable[[str, str], str]
) -> None:
    second = add_revision("extra table", '    op.execute("CREATE TABLE extra (id INTEGER)")')
    assert store.migrate(to=HEAD) == [HEAD]
    assert "extra" not in table_names(store.get_engine())
    assert store.migrate(to=second) == [second]
    assert "extra" in table_names(store.get_engine())


def test_a_failing_revision_leaves_no_trace(
    db_url: str, add_revision: Callable[[str, str], str]
) -> None:
    store.migrate()
    add_revision("broken", '    op.execute("CREATE TABLE half_done (id INTEGER)")\n'
                           '    raise RuntimeError("migration bug")')
    with pytest.raises(RuntimeError, match="migration bug"):
        store.migrate()
    assert current(store.get_engine()) == HEAD
    assert "half_done" not in table_names(store.get_engine())  # the DDL rolled back too


def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    store.migrate()
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(store.SchemaTooNew, match="'0099'.*upgrade air"):
        store.migrate()


def test_an_unknown_or_backward_target_is_refused(
    db_url: str, add_revision: Callable[[str, str], str]
) -> None:
    with pytest.raises(store.MigrationError, match=r"unknown revision 'nope'; known: head, 0001"):
        store.migrate(to="nope")
    assert current(store.get_engine()) is None
    second = add_revision("extra table", '    op.execute("CREATE TABLE extra (id INTEGER)")')
    assert store.migrate() == [HEAD, second]
    with pytest.raises(store.MigrationError):
        store.migrate(to=HEAD)  # upgrade never goes back
    assert current(store.get_engine()) == second


def test_new_revision_numbers_the_file_after_the_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", copy)
    path = migrations.new_revision("add a column")
    assert path == copy / "versions" / "0002_add_a_column.py"
    text = path.read_text(encoding="utf-8")
    assert "revision = '0002'" in text
    assert "down_revision = '0001'" in text
    assert migrations.script_directory().get_current_head() == "0002"
