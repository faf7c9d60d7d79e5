"""ops.backup: restorable, checksummed, recorded backup files; retention keeps the newest N."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.ops.backup import BackupSettings, run_backup
from tasks.store.db.engine import ENV_VAR
from tests.tasks.dataops import dead_letter, unreachable_database

CONTACTS = 25


@pytest.fixture
def backup_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "backups"
    monkeypatch.setenv("AIR_BACKUP_DIR", str(directory))
    return directory


@pytest.fixture
def filled(db: sa.Engine) -> None:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        for n in range(CONTACTS):
            store.upsert_contact(conn, user_id=user, email=f"c{n}@x.example", name=f"C {n}")


def pg_tools_or_skip() -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_dump/pg_restore missing; CI=true requires the PostgreSQL client")
        pytest.skip("pg_dump/pg_restore not on PATH (install postgresql-client)")


def test_a_backup_is_complete_recorded_and_restorable(
    air_app: Any, filled: None, backup_dir: Path, backend: str
) -> None:
    if backend == "postgresql":
        pg_tools_or_skip()
    result = air_app.tasks["ops.backup"].apply()
    assert result.successful(), result.traceback
    summary = result.result
    path = Path(summary["path"])
    assert path.parent == backup_dir
    assert sorted(p.name for p in backup_dir.iterdir()) == [path.name]  # no temporary left
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert summary["size_bytes"] == path.stat().st_size > 0
    assert summary["checksum"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    with store.transaction() as conn:
        (record,) = store.list_backups(conn)
    assert (record.id, record.path, record.checksum) == (
        summary["backup_id"], str(path), summary["checksum"])

    if backend == "sqlite":
        with sqlite3.connect(path) as copy:
            assert copy.execute("SELECT count(*) FROM contacts").fetchone() == (CONTACTS,)
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        copy.close()
    else:
        listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True,
                                 text=True, check=True).stdout
        assert "TABLE DATA" in listing and " contacts " in listing


def test_retention_keeps_the_newest_n(
    filled: None, backup_dir: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgresql":
        pg_tools_or_skip()
    monkeypatch.setenv("AIR_BACKUP_KEEP", "2")
    settings = BackupSettings.from_env()
    start = store.utcnow()
    made = [run_backup(settings, now=start + timedelta(minutes=n)) for n in range(4)]
    assert made[2]["removed"] == [made[0]["path"]]
    assert made[3]["removed"] == [made[1]["path"]]
    newest = sorted(m["path"] for m in made[2:])
    assert sorted(str(p) for p in backup_dir.iterdir()) == newest
    with store.transaction() as conn:
        assert sorted(b.path for b in store.list_backups(conn)) == newest


def test_retention_converges_when_a_file_is_already_gone(
    filled: None, backup_dir: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "postgresql":
        pg_tools_or_skip()
    monkeypatch.setenv("AIR_BACKUP_KEEP", "1")
    settings = BackupSettings.from_env()
    first = run_backup(settings)
    Path(first["path"]).unlink()  # an operator deleted it by hand
    second = run_backup(settings, now=store.utcnow() + timedelta(seconds=1))
    assert second["removed"] == [first["path"]]
    assert [p.name for p in backup_dir.iterdir()] == [Path(second["path"]).name]
    with store.transaction() as conn:
        assert [b.path for b in store.list_backups(conn)] == [second["path"]]


def test_without_pg_dump_postgresql_fails_permanently_with_a_hint(
    air_app: Any, pg_shared_url: str, backup_dir: Path, redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, pg_shared_url)
    monkeypatch.setenv("AIR_BACKUP_PG_DUMP", str(backup_dir / "no-such-pg_dump"))
    store.dispose_engine()
    with store.transaction() as conn:
        before = store.list_backups(conn)
    result = air_app.tasks["ops.backup"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)
    assert "postgresql-client" in letter.message
    assert list(backup_dir.iterdir()) == []
    with store.transaction() as conn:
        assert store.list_backups(conn) == before
    store.dispose_engine()


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, backup_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["ops.backup"].apply()
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("TransientError", 2)
    assert list(backup_dir.iterdir()) == []
