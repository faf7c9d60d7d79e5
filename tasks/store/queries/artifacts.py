"""Files the platform writes: a user's data exports and database backups, as records of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import backups, exports
from tasks.store.db.upsert import insert_ignore


def start_export(conn: sa.Connection, *, user_id: int) -> int:
    """Record an export as running; returns its id."""
    stmt = sa.insert(exports).values(user_id=user_id, status="running").returning(exports.c.id)
    return int(conn.execute(stmt).scalar_one())


def finish_export(
    conn: sa.Connection, export_id: int, *, paths: Sequence[str], now: datetime | None = None
) -> None:
    """Mark an export done with the files it wrote."""
    _finish(conn, export_id, status="done", paths=[str(p) for p in paths],
            finished_at=now or utcnow())


def fail_export(
    conn: sa.Connection, export_id: int, *, error: str, now: datetime | None = None
) -> None:
    _finish(conn, export_id, status="failed", error=error, finished_at=now or utcnow())


def get_export(conn: sa.Connection, export_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(exports).where(exports.c.id == export_id)).first()


def list_exports(
    conn: sa.Connection, *, user_id: int | None = None, before: datetime | None = None
) -> list[sa.Row[Any]]:
    """Export records, newest first; `before` keeps those created earlier (retention)."""
    stmt = sa.select(exports).order_by(exports.c.created_at.desc(), exports.c.id.desc())
    if user_id is not None:
        stmt = stmt.where(exports.c.user_id == user_id)
    if before is not None:
        stmt = stmt.where(exports.c.created_at < before)
    return list(conn.execute(stmt))


def _finish(conn: sa.Connection, export_id: int, **values: Any) -> None:
    stmt = sa.update(exports).where(exports.c.id == export_id).values(**values)
    if conn.execute(stmt).rowcount != 1:
        raise LookupError(f"no export {export_id}")


def record_backup(
    conn: sa.Connection, *, path: str, size_bytes: int, checksum: str,
    created_at: datetime | None = None,
) -> int | None:
    """Record a backup file; returns its id, or None if that path was recorded already."""
    values = {"path": str(path), "size_bytes": size_bytes, "checksum": checksum,
              "created_at": created_at or utcnow()}
    return insert_ignore(conn, backups, values, conflict=["path"], returning="id")


def list_backups(conn: sa.Connection, *, before: datetime | None = None) -> list[sa.Row[Any]]:
    """Recorded backups, newest first; `before` keeps only those created earlier (retention)."""
    stmt = sa.select(backups).order_by(backups.c.created_at.desc(), backups.c.id.desc())
    if before is not None:
        stmt = stmt.where(backups.c.created_at < before)
    return list(conn.execute(stmt))


def forget_backup(conn: sa.Connection, backup_id: int) -> bool:
    """Drop a backup's record (after its file was deleted); False if it was not recorded."""
    return conn.execute(sa.delete(backups).where(backups.c.id == backup_id)).rowcount == 1
