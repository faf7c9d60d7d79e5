"""Meetings synced from calendars, one row per (integration, iCalendar UID)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import briefings, meetings
from tasks.store.db.upsert import insert_ignore


def upsert_meeting(
    conn: sa.Connection, *, user_id: int, integration_id: int, uid: str, starts_at: datetime,
    ends_at: datetime, title: str | None = None, location: str | None = None,
    description: str | None = None, attendees: Iterable[str] = (),
) -> tuple[int, bool]:
    """Insert the event, or update it if the calendar changed it; returns (id, changed).

    An unchanged event is not written at all, so re-running a calendar sync changes nothing.
    """
    fields = {"user_id": user_id, "starts_at": starts_at, "ends_at": ends_at, "title": title,
              "location": location, "description": description, "attendees": list(attendees)}
    key = {"integration_id": integration_id, "uid": uid}
    row = _by_uid(conn, integration_id, uid)
    if row is None:
        new_id = insert_ignore(conn, meetings, {**key, **fields}, conflict=list(key),
                               returning="id")
        if new_id is not None:
            return int(new_id), True
        row = _by_uid(conn, integration_id, uid)  # a concurrent sync inserted it first
        assert row is not None
    changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
    if changed:
        stmt = sa.update(meetings).where(meetings.c.id == row.id)
        conn.execute(stmt.values(**changed, updated_at=utcnow()))
    return int(row.id), bool(changed)


def delete_meeting(conn: sa.Connection, *, integration_id: int, uid: str) -> bool:
    """Remove the event a calendar dropped or cancelled (its briefing goes with it); True if
    it existed."""
    stmt = sa.delete(meetings).where(meetings.c.integration_id == integration_id,
                                     meetings.c.uid == uid)
    return conn.execute(stmt).rowcount == 1


def get_meeting(conn: sa.Connection, meeting_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(meetings).where(meetings.c.id == meeting_id)).first()


def list_meetings(
    conn: sa.Connection, *, user_id: int | None = None, after_id: int = 0,
    limit: int | None = None,
) -> list[sa.Row[Any]]:
    """Meetings by id; page through them with `after_id=<last id seen>` and `limit`."""
    stmt = sa.select(meetings).where(meetings.c.id > after_id)
    if user_id is not None:
        stmt = stmt.where(meetings.c.user_id == user_id)
    return list(conn.execute(stmt.order_by(meetings.c.id).limit(limit)))


def upcoming_meetings(
    conn: sa.Connection, *, start: datetime, end: datetime, user_id: int | None = None,
    without_briefing: bool = False,
) -> list[sa.Row[Any]]:
    """Meetings starting in [start, end), earliest first; optionally only those not briefed."""
    m = meetings.c
    stmt = sa.select(meetings).where(m.starts_at >= start, m.starts_at < end)
    if user_id is not None:
        stmt = stmt.where(m.user_id == user_id)
    if without_briefing:
        stmt = stmt.where(~sa.exists().where(briefings.c.meeting_id == m.id))
    return list(conn.execute(stmt.order_by(m.starts_at, m.id)))


def _by_uid(conn: sa.Connection, integration_id: int, uid: str) -> sa.Row[Any] | None:
    stmt = sa.select(meetings).where(
        meetings.c.integration_id == integration_id, meetings.c.uid == uid
    )
    return conn.execute(stmt).first()
