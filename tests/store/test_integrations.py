"""integrations.py and health.py: tokens near expiry, token storage, status, cursor, checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tasks import store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def add(conn: sa.Connection, user_id: int, **fields: object) -> int:
    values = {"kind": "calendar", "provider": "google", "refresh_token": "r",
              "token_endpoint": "http://127.0.0.1:9/token", **fields}
    return store.add_integration(conn, user_id=user_id, **values)  # type: ignore[arg-type]


def test_tokens_expiring_within_a_window(conn: sa.Connection, user_id: int) -> None:
    soon = add(conn, user_id, expires_at=NOW + timedelta(minutes=4))
    expired = add(conn, user_id, expires_at=NOW - timedelta(hours=1))
    add(conn, user_id, expires_at=NOW + timedelta(hours=2))  # not yet
    add(conn, user_id, expires_at=NOW, refresh_token=None)  # cannot be refreshed
    broken = add(conn, user_id, expires_at=NOW)
    store.set_status(conn, broken, "broken", error="invalid_grant")
    due = store.tokens_expiring(conn, within=timedelta(minutes=5), now=NOW)
    assert [row.id for row in due] == [expired, soon]


def test_store_tokens_keeps_an_unrotated_refresh_token(conn: sa.Connection, user_id: int) -> None:
    iid = add(conn, user_id, access_token="a0", expires_at=NOW)
    store.store_tokens(conn, iid, access_token="a1", expires_at=NOW + timedelta(hours=1))
    row = store.get_integration(conn, iid)
    assert row is not None
    assert (row.access_token, row.refresh_token, row.expires_at) == (
        "a1", "r", NOW + timedelta(hours=1))
    store.store_tokens(conn, iid, access_token="a2", expires_at=None, refresh_token="r2")
    row = store.get_integration(conn, iid)
    assert row is not None
    assert (row.access_token, row.refresh_token, row.expires_at) == ("a2", "r2", None)
    with pytest.raises(LookupError):
        store.store_tokens(conn, 999_999, access_token="x", expires_at=None)


def test_set_status_reports_the_previous_one(conn: sa.Connection, integration_id: int) -> None:
    assert store.set_status(conn, integration_id, "broken", error="invalid_grant") == "ok"
    assert store.set_status(conn, integration_id, "broken", error="invalid_grant") == "broken"
    row = store.get_integration(conn, integration_id)
    assert row is not None
    assert (row.status, row.last_error) == ("broken", "invalid_grant")
    assert store.set_status(conn, integration_id, "ok") == "broken"
    row = store.get_integration(conn, integration_id)
    assert row is not None
    assert (row.status, row.last_error) == ("ok", None)
    with pytest.raises(ValueError, match="status"):
        store.set_status(conn, integration_id, "dead")
    with pytest.raises(LookupError):
        store.set_status(conn, 999_999, "ok")


def test_cursor_list_and_secret_reference(
    conn: sa.Connection, user_id: int, integration_id: int
) -> None:
    store.set_cursor(conn, integration_id, "mtime:1714550000")
    row = store.get_integration(conn, integration_id)
    assert row is not None
    assert row.sync_cursor == "mtime:1714550000"
    assert row.client_secret_env == "AIR_SECRET"  # the name, never the value
    assert store.client_secret(row, env={"AIR_SECRET": "s3cret"}) == "s3cret"
    assert store.client_secret(row, env={}) is None
    cal = add(conn, user_id)
    assert [r.id for r in store.list_integrations(conn, kind="calendar")] == [cal]
    assert [r.id for r in store.list_integrations(conn, user_id=user_id)] == [integration_id, cal]
    assert store.list_integrations(conn, status="broken") == []


def test_health_checks_newest_first(conn: sa.Connection, integration_id: int) -> None:
    assert store.latest_health_check(conn, integration_id) is None
    for minutes, status in ((0, "ok"), (30, "broken"), (60, "ok")):
        store.record_health_check(conn, integration_id, status=status, detail=f"t+{minutes}",
                                  checked_at=NOW + timedelta(minutes=minutes))
    latest = store.latest_health_check(conn, integration_id)
    assert latest is not None
    assert (latest.status, latest.detail) == ("ok", "t+60")
    history = store.health_history(conn, integration_id, limit=2)
    assert [row.detail for row in history] == ["t+60", "t+30"]
    with pytest.raises(ValueError, match="health status"):
        store.record_health_check(conn, integration_id, status="meh")
