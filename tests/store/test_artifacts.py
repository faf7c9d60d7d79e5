"""artifacts.py: export lifecycle, backup records idempotent by path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_export_lifecycle(conn: sa.Connection, user_id: int) -> None:
    done = store.start_export(conn, user_id=user_id)
    assert store.get_export(conn, done).status == "running"  # type: ignore[union-attr]
    store.finish_export(conn, done, paths=["/x/contacts.json", "/x/contacts.csv"], now=T0)
    row = store.get_export(conn, done)
    assert row is not None
    assert (row.status, row.paths, row.finished_at) == (
        "done", ["/x/contacts.json", "/x/contacts.csv"], T0)
    failed = store.start_export(conn, user_id=user_id)
    store.fail_export(conn, failed, error="disk full")
    assert store.get_export(conn, failed).error == "disk full"  # type: ignore[union-attr]
    with pytest.raises(LookupError):
        store.fail_export(conn, 999_999, error="x")


def test_backups_are_recorded_once_per_path(conn: sa.Connection) -> None:
    old = store.record_backup(conn, path="/b/air-1.db", size_bytes=4096,
                              checksum="sha256:aa", created_at=T0)
    assert old is not None
    assert store.record_backup(conn, path="/b/air-1.db", size_bytes=1, checksum="x") is None
    new = store.record_backup(conn, path="/b/air-2.db", size_bytes=8 * 2**30,
                              checksum="sha256:bb", created_at=T0 + timedelta(days=2))
    assert [b.id for b in store.list_backups(conn)] == [new, old]
    assert store.list_backups(conn)[0].size_bytes == 8 * 2**30
    assert [b.id for b in store.list_backups(conn, before=T0 + timedelta(days=1))] == [old]
    assert store.forget_backup(conn, old)
    assert not store.forget_backup(conn, old)
