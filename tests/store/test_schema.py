"""The schema itself: unique constraints that make re-runs idempotent, foreign keys enforced."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.store.db import tables

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def insert_twice(table: sa.Table, row: dict[str, object]) -> None:
    with store.transaction() as conn:
        conn.execute(table.insert().values(row))
    with pytest.raises(sa.exc.IntegrityError):
        with store.transaction() as conn:
            conn.execute(table.insert().values(row))


@pytest.fixture
def owner(db: sa.Engine) -> dict[str, int]:
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="u@example.com")
        contact = store.upsert_contact(conn, user_id=user, email="c@x.example")
        integration = store.add_integration(conn, user_id=user, kind="mail", provider="mbox")
    return {"user": user, "contact": contact, "integration": integration}


def test_sync_source_ids_are_unique_per_integration(owner: dict[str, int]) -> None:
    insert_twice(tables.interactions, {"contact_id": owner["contact"], "kind": "email",
                                       "occurred_at": T0, "integration_id": owner["integration"],
                                       "source_id": "<m@x>"})


def test_meeting_uids_are_unique_per_integration(owner: dict[str, int]) -> None:
    insert_twice(tables.meetings, {"user_id": owner["user"], "integration_id":
                                   owner["integration"], "uid": "u1", "starts_at": T0,
                                   "ends_at": T0})


def test_analytics_days_are_unique(db: sa.Engine) -> None:
    insert_twice(tables.analytics_snapshots, {"day": date(2024, 5, 1), "metrics": {}})


def test_notification_dedup_keys_are_unique(owner: dict[str, int]) -> None:
    insert_twice(tables.notifications, {"user_id": owner["user"], "channel": "log",
                                        "payload": {}, "dedup_key": "k"})


def test_foreign_keys_are_enforced(db: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        with store.transaction() as conn:
            conn.execute(tables.contacts.insert().values(user_id=424242))


def test_deleting_an_integration_keeps_its_history(owner: dict[str, int]) -> None:
    with store.transaction() as conn:
        store.record_interaction(conn, contact_id=owner["contact"], kind="email",
                                 occurred_at=T0, integration_id=owner["integration"],
                                 source_id="s")
        store.record_health_check(conn, owner["integration"], status="ok")
        conn.execute(sa.delete(tables.integrations))
        counts = store.row_counts(conn)
        assert (counts["interactions"], counts["health_checks"]) == (1, 0)
        assert store.list_interactions(conn)[0].integration_id is None
