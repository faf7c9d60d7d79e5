"""User notifications: queued per (user, channel), de-duplicated by key within a window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import notifications
from tasks.store.db.upsert import insert_ignore, upsert

STATUSES = ("pending", "delivered", "failed")
_REARMED = ("payload", "status", "attempts", "last_error", "created_at", "delivered_at")


def queue_notification(
    conn: sa.Connection, *, user_id: int, channel: str, payload: dict[str, Any],
    dedup_key: str | None = None, window: timedelta | None = None, now: datetime | None = None,
) -> int | None:
    """Queue a notification; returns its id, or None when it repeats an earlier one.

    With a `dedup_key`, one row exists per (user, channel, key): a repeat inside `window` of the
    row's creation is dropped; after it, the row is re-armed (new payload, pending, attempts 0) and
    delivered again. Without `window`, a key is delivered once, ever.
    """
    now = now or utcnow()
    values = {"user_id": user_id, "channel": channel, "payload": payload, "dedup_key": dedup_key,
              "status": "pending", "attempts": 0, "last_error": None, "created_at": now,
              "delivered_at": None}
    if dedup_key is None:
        stmt = sa.insert(notifications).values(values).returning(notifications.c.id)
        return int(conn.execute(stmt).scalar_one())
    conflict = ["user_id", "channel", "dedup_key"]
    if window is None:
        return insert_ignore(conn, notifications, values, conflict=conflict, returning="id")
    return upsert(conn, notifications, values, conflict=conflict, update=_REARMED,
                  where=notifications.c.created_at <= now - window, returning="id")


def get_notification(conn: sa.Connection, notification_id: int) -> sa.Row[Any] | None:
    stmt = sa.select(notifications).where(notifications.c.id == notification_id)
    return conn.execute(stmt).first()


def find_notification(
    conn: sa.Connection, *, user_id: int, channel: str, dedup_key: str
) -> sa.Row[Any] | None:
    """The notification queued under (user, channel, key), if any."""
    n = notifications.c
    stmt = sa.select(notifications).where(
        n.user_id == user_id, n.channel == channel, n.dedup_key == dedup_key
    )
    return conn.execute(stmt).first()


def pending_notifications(
    conn: sa.Connection, *, channel: str | None = None, limit: int = 100
) -> list[sa.Row[Any]]:
    """Notifications waiting for delivery, oldest first."""
    stmt = sa.select(notifications).where(notifications.c.status == "pending")
    if channel is not None:
        stmt = stmt.where(notifications.c.channel == channel)
    return list(conn.execute(stmt.order_by(notifications.c.id).limit(limit)))


def mark_notification_delivered(
    conn: sa.Connection, notification_id: int, *, now: datetime | None = None
) -> bool:
    """Record a delivery; False if it was not pending (delivered already, say)."""
    n = notifications.c
    stmt = sa.update(notifications).where(n.id == notification_id, n.status == "pending").values(
        status="delivered", attempts=n.attempts + 1, last_error=None, delivered_at=now or utcnow()
    )
    return conn.execute(stmt).rowcount == 1


def mark_notification_failed(
    conn: sa.Connection, notification_id: int, *, error: str, final: bool = False
) -> bool:
    """Record a failed attempt; `final` gives up (status failed), else it stays pending."""
    n = notifications.c
    stmt = sa.update(notifications).where(n.id == notification_id, n.status == "pending").values(
        status="failed" if final else "pending", attempts=n.attempts + 1, last_error=error
    )
    return conn.execute(stmt).rowcount == 1
