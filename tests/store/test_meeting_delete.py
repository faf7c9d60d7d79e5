"""meetings.delete_meeting: a calendar's dropped event goes, with its briefing; others stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 2, 14, 0, tzinfo=UTC)


def test_a_dropped_event_is_deleted_once(
    conn: sa.Connection, user_id: int, integration_id: int
) -> None:
    other = store.add_integration(conn, user_id=user_id, kind="calendar", provider="ics")
    ids = {}
    for integration in (integration_id, other):
        ids[integration], _ = store.upsert_meeting(
            conn, user_id=user_id, integration_id=integration, uid="evt@cal", starts_at=T0,
            ends_at=T0 + timedelta(hours=1))
    store.save_briefing(conn, meeting_id=ids[integration_id], content="notes", provider="local")
    assert store.delete_meeting(conn, integration_id=integration_id, uid="evt@cal") is True
    assert store.delete_meeting(conn, integration_id=integration_id, uid="evt@cal") is False
    assert store.get_meeting(conn, ids[integration_id]) is None
    assert store.get_briefing(conn, ids[integration_id]) is None
    assert store.get_meeting(conn, ids[other]) is not None  # same UID, other calendar
