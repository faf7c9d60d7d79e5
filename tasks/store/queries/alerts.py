"""Alerts: system events with a severity, de-duplicated by key, a delivery status per channel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import alert_deliveries, alerts
from tasks.store.db.upsert import insert_ignore, upsert

SEVERITIES = ("info", "warning", "critical")


def raise_alert(
    conn: sa.Connection, *, severity: str, title: str, channels: Sequence[str], body: str = "",
    dedup_key: str | None = None, window: timedelta | None = None, now: datetime | None = None,
) -> int | None:
    """Record an alert pending on each channel; returns its id, or None for a repeat.

    Same rule as notifications: a `dedup_key` seen less than `window` ago is dropped; after the
    window the alert is re-armed and every channel is pending again. No `window`: once, ever.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity!r} is not one of {SEVERITIES}")
    now = now or utcnow()
    values = {"severity": severity, "title": title, "body": body, "dedup_key": dedup_key,
              "created_at": now}
    if dedup_key is None:
        alert_id = conn.execute(sa.insert(alerts).values(values).returning(alerts.c.id)).scalar()
    elif window is None:
        alert_id = insert_ignore(conn, alerts, values, conflict=["dedup_key"], returning="id")
    else:
        alert_id = upsert(conn, alerts, values, conflict=["dedup_key"],
                          where=alerts.c.created_at <= now - window, returning="id")
    if alert_id is None:
        return None
    conn.execute(sa.delete(alert_deliveries).where(alert_deliveries.c.alert_id == alert_id))
    if channels:
        conn.execute(sa.insert(alert_deliveries), [
            {"alert_id": alert_id, "channel": channel, "status": "pending", "attempts": 0}
            for channel in dict.fromkeys(channels)
        ])
    return int(alert_id)


def get_alert(conn: sa.Connection, alert_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()


def find_alert(conn: sa.Connection, dedup_key: str) -> sa.Row[Any] | None:
    """The alert raised under `dedup_key`, if any (a retry finds its alert this way)."""
    return conn.execute(sa.select(alerts).where(alerts.c.dedup_key == dedup_key)).first()


def alert_status(conn: sa.Connection, alert_id: int) -> dict[str, str]:
    """{channel: status} for one alert."""
    d = alert_deliveries.c
    stmt = sa.select(d.channel, d.status).where(d.alert_id == alert_id).order_by(d.channel)
    return {channel: status for channel, status in conn.execute(stmt)}


def pending_alert_deliveries(
    conn: sa.Connection, *, channel: str | None = None, limit: int = 100
) -> list[sa.Row[Any]]:
    """(alert, channel) pairs still to deliver, most severe and oldest first, with alert fields."""
    d, a = alert_deliveries.c, alerts.c
    urgency = sa.case({s: i for i, s in enumerate(reversed(SEVERITIES))}, value=a.severity)
    stmt = (
        sa.select(d.alert_id, d.channel, d.attempts, a.severity, a.title, a.body, a.created_at)
        .join(alerts, a.id == d.alert_id)
        .where(d.status == "pending")
        .order_by(urgency, a.id, d.channel)
        .limit(limit)
    )
    if channel is not None:
        stmt = stmt.where(d.channel == channel)
    return list(conn.execute(stmt))


def mark_alert_delivered(
    conn: sa.Connection, alert_id: int, channel: str, *, now: datetime | None = None
) -> bool:
    """Record delivery on one channel; False if that channel was not pending."""
    d = alert_deliveries.c
    stmt = sa.update(alert_deliveries).where(
        d.alert_id == alert_id, d.channel == channel, d.status == "pending"
    ).values(status="delivered", attempts=d.attempts + 1, last_error=None,
             delivered_at=now or utcnow())
    return conn.execute(stmt).rowcount == 1


def mark_alert_failed(
    conn: sa.Connection, alert_id: int, channel: str, *, error: str, final: bool = False
) -> bool:
    """Record a failed attempt on one channel; `final` gives up on it (status failed)."""
    d = alert_deliveries.c
    stmt = sa.update(alert_deliveries).where(
        d.alert_id == alert_id, d.channel == channel, d.status == "pending"
    ).values(status="failed" if final else "pending", attempts=d.attempts + 1, last_error=error)
    return conn.execute(stmt).rowcount == 1
