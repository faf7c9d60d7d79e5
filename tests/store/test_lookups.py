"""Lookups the auth and notify tasks use: lock_integration, find_alert, find_notification."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from tasks import store
from tests.waiting import wait_until


def test_lock_integration_returns_the_row(conn: sa.Connection, integration_id: int) -> None:
    row = store.lock_integration(conn, integration_id)
    assert row is not None and (row.id, row.refresh_token) == (integration_id, "r1")
    assert store.lock_integration(conn, 999_999) is None


def test_lock_integration_serialises_writers(db: sa.Engine, backend: str) -> None:
    """A second transaction's lock waits until the first one commits, then sees its write."""
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        iid = store.add_integration(conn, user_id=user, kind="mail", provider="google",
                                    refresh_token="r1")
    seen: list[str] = []

    def other() -> None:
        with store.transaction() as conn:
            row = store.lock_integration(conn, iid)
            seen.append(row.refresh_token if row is not None else "")

    thread = threading.Thread(target=other)
    with store.transaction() as conn:
        store.lock_integration(conn, iid)
        thread.start()
        if backend == "postgresql":  # SQLite: BEGIN IMMEDIATE already holds the write lock
            wait_until(lambda: _waiting_on_a_lock(db), message="the other transaction to wait")
        store.store_tokens(conn, iid, access_token="a", expires_at=None, refresh_token="r2")
    thread.join(10)
    assert seen == ["r2"]


def _waiting_on_a_lock(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")))


def test_find_alert_by_dedup_key(conn: sa.Connection) -> None:
    alert = store.raise_alert(conn, severity="critical", title="t", channels=["log"],
                              dedup_key="k", window=timedelta(minutes=5))
    found = store.find_alert(conn, "k")
    assert found is not None and found.id == alert
    assert store.find_alert(conn, "other") is None


def test_find_notification_by_user_channel_and_key(conn: sa.Connection, user_id: int) -> None:
    nid = store.queue_notification(conn, user_id=user_id, channel="email", payload={},
                                   dedup_key="k", window=timedelta(hours=1))
    found = store.find_notification(conn, user_id=user_id, channel="email", dedup_key="k")
    assert found is not None and found.id == nid
    assert store.find_notification(conn, user_id=user_id, channel="log", dedup_key="k") is None
