"""engine.py: URL resolution, SQLite settings, one engine per process, transactions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tasks import store
from tasks.store.db.engine import DEFAULT_SQLITE_PATH, ENV_VAR, SQLITE_BUSY_TIMEOUT_MS
from tasks.store.db.tables import users


def test_default_is_sqlite_under_dot_air_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    url = store.database_url()
    assert url.drivername == "sqlite+pysqlite"
    assert Path(url.database or "") == tmp_path / DEFAULT_SQLITE_PATH
    store.dispose_engine()
    try:
        assert store.migrate() == ["0001"]
    finally:
        store.dispose_engine()
    assert (tmp_path / ".air" / "air.db").is_file()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@127.0.0.1:5432/air", "postgresql+psycopg"),
        ("postgres://u@127.0.0.1/air", "postgresql+psycopg"),
        ("postgresql+psycopg://u@127.0.0.1/air", "postgresql+psycopg"),
        ("sqlite:////var/lib/air/air.db", "sqlite"),
    ],
)
def test_url_from_environment_gets_the_psycopg_driver(
    given: str, driver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, given)
    url = store.database_url()
    assert url.drivername == driver
    assert url.database == sa.make_url(given).database


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(db: sa.Engine) -> None:
    with store.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    with sqlite3.connect(db.url.database or "") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_one_engine_per_process_until_the_url_changes(
    db: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.get_engine() is db
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{tmp_path}/other.db")
    other = store.get_engine()
    assert other is not db
    assert other.url.database == f"{tmp_path}/other.db"


def test_transaction_commits_when_the_block_ends(db: sa.Engine) -> None:
    with store.transaction() as conn:
        store.ensure_user(conn, email="a@example.com")
    with store.transaction() as conn:
        assert [u.email for u in store.list_users(conn)] == ["a@example.com"]


def test_transaction_rolls_back_everything_on_an_exception(db: sa.Engine) -> None:
    with pytest.raises(RuntimeError, match="task failed"):
        with store.transaction() as conn:
            uid = store.ensure_user(conn, email="a@example.com")
            store.upsert_contact(conn, user_id=uid, email="b@example.com")
            raise RuntimeError("task failed")
    with store.transaction() as conn:
        assert store.row_counts(conn)["users"] == 0
        assert store.row_counts(conn)["contacts"] == 0


def test_readonly_transaction_reads_but_refuses_writes(db: sa.Engine) -> None:
    with store.transaction() as conn:
        store.ensure_user(conn, email="a@example.com")
    with store.transaction(readonly=True) as conn:
        assert len(store.list_users(conn)) == 1
    with pytest.raises(sa.exc.DBAPIError):
        with store.transaction(readonly=True) as conn:
            conn.execute(sa.insert(users).values(email="b@example.com"))
    with store.transaction() as conn:  # the pooled connection is writable again
        store.ensure_user(conn, email="c@example.com")
        assert len(store.list_users(conn)) == 2


def test_concurrent_writers_in_threads_all_commit(db: sa.Engine) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(20):
                with store.transaction() as conn:
                    store.ensure_user(conn, email=f"w{n}-{i}@example.com")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.transaction() as conn:
        assert store.row_counts(conn)["users"] == 120


def test_an_engine_from_another_pid_is_replaced_without_closing_it(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What get_engine() does if a fork ever bypassed os.register_at_fork (a C extension's fork).
    from tasks.store.db import engine as module

    with store.transaction() as conn:
        store.ensure_user(conn, email="a@example.com")
    inherited = db.pool
    monkeypatch.setattr(module, "_engine_pid", -1)
    fresh = store.get_engine()
    assert fresh is not db
    assert inherited in module._orphans
    assert inherited.checkedin() == 1  # kept, not closed
    with store.transaction() as conn:
        assert len(store.list_users(conn)) == 1
    module._orphans.remove(inherited)  # this process really owns it: close it after all
    inherited.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_engine_gives_a_backup_sqlites_online_backup_api(db: sa.Engine, tmp_path: Path) -> None:
    with store.transaction() as conn:
        store.ensure_user(conn, email="a@example.com")
    raw = db.raw_connection()
    try:
        with sqlite3.connect(tmp_path / "copy.db") as target:
            raw.driver_connection.backup(target)  # type: ignore[union-attr]
            assert target.execute("SELECT email FROM users").fetchall() == [("a@example.com",)]
        target.close()
    finally:
        raw.close()


def test_libpq_url_is_what_libpq_tools_accept(db: sa.Engine, backend: str) -> None:
    if backend == "sqlite":
        with pytest.raises(ValueError, match="not a PostgreSQL URL"):
            store.libpq_url()
        return
    url = store.libpq_url()
    assert url.startswith("postgresql://")
    with psycopg.connect(url) as raw:  # libpq parses it, search_path option included
        assert raw.execute("SELECT count(*) FROM users").fetchone() == (0,)
