"""meetings.py: calendar events upserted by (integration, UID), written only when changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 2, 14, 0, tzinfo=UTC)


def event(user_id: int, integration_id: int, **changes: object) -> dict[str, object]:
    return {"user_id": user_id, "integration_id": integration_id, "uid": "evt-1@cal",
            "starts_at": T0, "ends_at": T0 + timedelta(hours=1), "title": "Planning",
            "attendees": ["ann@acme.example"], **changes}


def test_the_same_event_twice_changes_nothing(
    conn: sa.Connection, user_id: int, integration_id: int
) -> None:
    meeting_id, changed = store.upsert_meeting(conn, **event(user_id, integration_id))  # type: ignore[arg-type]
    assert changed
    before = store.get_meeting(conn, meeting_id)
    assert store.upsert_meeting(conn, **event(user_id, integration_id)) == (meeting_id, False)  # type: ignore[arg-type]
    assert store.get_meeting(conn, meeting_id) == before


def test_a_moved_event_is_updated_in_place(
    conn: sa.Connection, user_id: int, integration_id: int
) -> None:
    meeting_id, _ = store.upsert_meeting(conn, **event(user_id, integration_id))  # type: ignore[arg-type]
    later = T0 + timedelta(days=1)
    moved = event(user_id, integration_id, starts_at=later, ends_at=later + timedelta(hours=1),
                  attendees=["ann@acme.example", "bob@acme.example"])
    assert store.upsert_meeting(conn, **moved) == (meeting_id, True)  # type: ignore[arg-type]
    row = store.get_meeting(conn, meeting_id)
    assert row is not None
    assert (row.starts_at, row.attendees) == (later, ["ann@acme.example", "bob@acme.example"])
    assert store.row_counts(conn)["meetings"] == 1


def test_upcoming_meetings_and_those_without_a_briefing(
    conn: sa.Connection, user_id: int, integration_id: int
) -> None:
    ids = [store.upsert_meeting(conn, **event(user_id, integration_id, uid=f"e{h}",  # type: ignore[arg-type]
                                              starts_at=T0 + timedelta(hours=h),
                                              ends_at=T0 + timedelta(hours=h + 1)))[0]
           for h in (5, 0, 30)]
    window = {"start": T0, "end": T0 + timedelta(hours=24)}
    assert [m.id for m in store.upcoming_meetings(conn, **window)] == [ids[1], ids[0]]
    store.save_briefing(conn, meeting_id=ids[1], content="Agenda: ...", provider="local")
    unbriefed = store.upcoming_meetings(conn, **window, user_id=user_id, without_briefing=True)
    assert [m.id for m in unbriefed] == [ids[0]]
