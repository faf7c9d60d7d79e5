"""housekeeping.py: retention purges, row counts, VACUUM and ANALYZE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.store.db.tables import metadata

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def test_purge_deletes_rows_older_than_the_cutoff_with_their_dependants(
    conn: sa.Connection, user_id: int, integration_id: int, contact_id: int
) -> None:
    for days in (1, 10, 40):
        store.record_interaction(conn, contact_id=contact_id, kind="email",
                                 occurred_at=T0 - timedelta(days=days))
    old, _ = store.upsert_meeting(conn, user_id=user_id, integration_id=integration_id, uid="o",
                                  starts_at=T0 - timedelta(days=60),
                                  ends_at=T0 - timedelta(days=60, hours=-1))
    store.save_briefing(conn, meeting_id=old, content="b", provider="local")
    assert store.purge_older_than(conn, "interactions", T0 - timedelta(days=30)) == 1
    assert store.purge_older_than(conn, "interactions", T0 - timedelta(days=30)) == 0
    assert store.purge_older_than(conn, "meetings", T0 - timedelta(days=30)) == 1
    counts = store.row_counts(conn)
    assert (counts["interactions"], counts["meetings"], counts["briefings"]) == (2, 0, 0)
    assert counts["contacts"] == 1


def test_purge_refuses_tables_without_a_retention_rule(conn: sa.Connection) -> None:
    with pytest.raises(ValueError, match="no retention rule"):
        store.purge_older_than(conn, "contacts", T0)


def test_row_counts_cover_every_table(conn: sa.Connection, contact_id: int) -> None:
    counts = store.row_counts(conn)
    assert set(counts) == set(metadata.tables)
    assert (counts["users"], counts["contacts"]) == (1, 1)


def test_vacuum_and_analyze_keep_the_data(db: sa.Engine) -> None:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="v@example.com")
        ids = [store.upsert_contact(conn, user_id=user, email=f"v{i}@x.example")
               for i in range(50)]
    with store.transaction() as conn:
        store.delete_contacts(conn, ids[:40])
    store.vacuum_analyze()
    with store.transaction() as conn:
        assert store.row_counts(conn)["contacts"] == 10
        store.ensure_user(conn, email="after@example.com")  # the pool still writes
