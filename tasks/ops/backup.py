"""ops.backup: a consistent backup file of the database, checksummed, recorded, with retention.

SQLite is copied with its online backup API, which yields a consistent image while the workers
keep writing (a step restarts when another connection changes the source). PostgreSQL is dumped
with `pg_dump --format=custom` (restore with pg_restore) of the schema the store lives in, inside
one snapshot. Each file is written under a temporary name and renamed once complete, so a file
with a final name is always a whole backup. Retention keeps the newest AIR_BACKUP_KEEP: older
files are deleted and their records forgotten.

Idempotency: every run makes one new backup (that is its job), and retention converges: however
often it runs, AIR_BACKUP_KEEP backups remain. Old files are deleted before their records are
forgotten, so a crash in between leaves records of missing files, which the next run forgets.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.data.transient import transient_database
from tasks.env import number
from tasks.errors import PermanentError, TransientError

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
SQLITE_STEP_PAGES = 4096  # pages copied per step of the backup API (16 MiB at 4 KiB pages)
PG_DUMP_HINT = ("install the PostgreSQL client tools (Debian/Ubuntu: apt-get install "
                "postgresql-client; macOS: brew install libpq) or set AIR_BACKUP_PG_DUMP")
PREFIX, SUFFIXES = "air-", {"sqlite": ".sqlite3", "postgresql": ".pgdump"}


@dataclass(frozen=True, slots=True, kw_only=True)
class BackupSettings:
    directory: Path = Path(".air/backups")  # AIR_BACKUP_DIR: where backup files go
    keep: int = 7  # AIR_BACKUP_KEEP: how many backups retention keeps (at least 1)
    pg_dump: str = "pg_dump"  # AIR_BACKUP_PG_DUMP: the pg_dump binary, a path or a name on PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> BackupSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults
        return cls(
            directory=Path(env.get("AIR_BACKUP_DIR", "").strip() or base.directory).absolute(),
            keep=number(env, "AIR_BACKUP_KEEP", base.keep, int, minimum=1,
                        problem="keep at least 1 backup"),
            pg_dump=env.get("AIR_BACKUP_PG_DUMP", "").strip() or base.pg_dump,
        )


def backup_sqlite(engine: sa.Engine, target: Path, progress: Progress | None = None) -> None:
    """Copy the SQLite database into `target` with the online backup API."""
    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    raw = engine.raw_connection()  # a pooled connection: the store's own settings apply
    source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=SQLITE_STEP_PAGES, progress=report)
        # A single self-contained file: the source's WAL mode would be copied along.
        copy.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError as exc:  # locked or busy past the timeout: try again later
        raise TransientError(f"SQLite backup: {exc}") from exc
    finally:
        copy.close()
        raw.close()


def dump_postgresql(pg_dump: str, url: str, target: Path, schema: str) -> None:
    """`pg_dump --format=custom` of `schema` into `target`; the password goes through the
    environment, never the command line (where `ps` would show it)."""
    binary = shutil.which(pg_dump)
    if binary is None:
        raise PermanentError(f"{pg_dump!r} not found on PATH: {PG_DUMP_HINT}")
    parsed = sa.make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
        url = parsed.set(password=None).render_as_string(hide_password=False)
    command = [binary, "--format=custom", "--no-owner", f"--schema={schema}",
               f"--file={target}", f"--dbname={url}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        error = done.stderr.strip()[-2000:]
        if "version mismatch" in error:  # an older pg_dump than the server: retrying won't help
            raise PermanentError(f"pg_dump: {error}; {PG_DUMP_HINT}")
        raise TransientError(f"pg_dump exited with {done.returncode}: {error}")


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def make_backup(
    settings: BackupSettings, *, now: datetime, progress: Progress | None = None
) -> Path:
    """Write a complete backup file (temporary name, then rename) and return its path."""
    engine = store.get_engine()
    backend = engine.url.get_backend_name()
    if backend not in SUFFIXES:
        raise PermanentError(f"no backup method for database {backend!r}")
    settings.directory.mkdir(parents=True, exist_ok=True)
    final = settings.directory / f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIXES[backend]}"
    temp = final.with_name(f".{final.name}.tmp")
    try:
        if backend == "sqlite":
            backup_sqlite(engine, temp, progress)
        else:
            with store.transaction(readonly=True) as conn:
                schema = str(conn.scalar(sa.select(sa.func.current_schema())))
            dump_postgresql(settings.pg_dump, store.libpq_url(), temp, schema)
        os.chmod(temp, 0o600)  # a backup holds every secret the database does (tokens)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return final


def run_backup(
    settings: BackupSettings, *, now: datetime | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Back up, record the file, apply retention; returns what was made and removed."""
    now = now or store.utcnow()
    with transient_database():
        path = make_backup(settings, now=now, progress=progress)
        size, checksum = path.stat().st_size, sha256_file(path)
        try:
            with store.transaction(readonly=True) as conn:
                expired = store.list_backups(conn)[settings.keep - 1:]
            for row in expired:  # files first: a record of a missing file is harmless
                Path(row.path).unlink(missing_ok=True)
            with store.transaction() as conn:
                backup_id = store.record_backup(conn, path=str(path), size_bytes=size,
                                                checksum=checksum, created_at=now)
                for row in expired:
                    store.forget_backup(conn, row.id)
        except BaseException:
            path.unlink(missing_ok=True)  # an unrecorded backup would never be cleaned up
            raise
    log.info("backup_done", path=str(path), size_bytes=size, checksum=checksum,
             removed=[row.path for row in expired])
    if progress is not None:
        progress(1, 1)
    return {"backup_id": backup_id, "path": str(path), "size_bytes": size, "checksum": checksum,
            "removed": [row.path for row in expired]}


@shared_task(name="ops.backup", bind=True)
def backup(self: Any) -> dict[str, Any]:
    """Back up the database; returns {backup_id, path, size_bytes, checksum, removed}."""
    return run_backup(BackupSettings.from_env(), progress=self.progress)
