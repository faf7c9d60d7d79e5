"""Aggregates over a time range [start, end): the numbers the daily analytics snapshot is made of.

Every count is a pure function of the rows, so computing the same day twice gives the same
numbers as long as the data did not change; dictionaries have a fixed key order (the snapshot
compares its stored JSON with the new one).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tasks.store.db.counts import count_rows, counts_by
from tasks.store.db.tables import (
    alerts,
    contacts,
    health_checks,
    integrations,
    interactions,
    meetings,
    notifications,
    relationship_scores,
)
from tasks.store.queries.alerts import SEVERITIES
from tasks.store.queries.interactions import DIRECTIONS, KINDS

NO_DIRECTION = "none"  # the key for interactions recorded without a direction


def contact_counts(conn: sa.Connection, *, start: datetime, end: datetime) -> dict[str, int]:
    """`total`: active contacts created before `end`; `new`: contacts created in the range."""
    c = contacts.c
    return {
        "total": count_rows(conn, contacts, c.created_at < end, c.merged_into.is_(None)),
        "new": count_rows(conn, contacts, c.created_at >= start, c.created_at < end),
    }


def interaction_counts(
    conn: sa.Connection, *, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """{kind: {direction: n}} for interactions that occurred in the range, zeros included."""
    i = interactions.c
    stmt = (
        sa.select(i.kind, i.direction, sa.func.count())
        .where(i.occurred_at >= start, i.occurred_at < end)
        .group_by(i.kind, i.direction)
    )
    counts = {kind: dict.fromkeys((*DIRECTIONS, NO_DIRECTION), 0) for kind in KINDS}
    for kind, direction, n in conn.execute(stmt):
        counts.setdefault(kind, dict.fromkeys((*DIRECTIONS, NO_DIRECTION), 0))
        counts[kind][direction or NO_DIRECTION] = int(n)
    return counts


def meeting_count(conn: sa.Connection, *, start: datetime, end: datetime) -> int:
    """Meetings that start in the range."""
    return count_rows(conn, meetings, meetings.c.starts_at >= start, meetings.c.starts_at < end)


def notification_counts(conn: sa.Connection, *, start: datetime, end: datetime) -> dict[str, int]:
    """`sent`: delivered in the range; `failed`: given up on, created in the range (a failure
    carries no time of its own)."""
    n = notifications.c
    return {
        "sent": count_rows(conn, notifications, n.status == "delivered", n.delivered_at >= start,
                       n.delivered_at < end),
        "failed": count_rows(conn, notifications, n.status == "failed", n.created_at >= start,
                         n.created_at < end),
    }


def alert_counts(conn: sa.Connection, *, start: datetime, end: datetime) -> dict[str, int]:
    """{severity: n} for alerts raised in the range, zeros included."""
    a = alerts.c
    counts = dict.fromkeys(SEVERITIES, 0)
    counts.update(counts_by(conn, a.severity, a.created_at >= start, a.created_at < end))
    return counts


def integration_health(conn: sa.Connection, *, start: datetime, end: datetime) -> dict[str, int]:
    """Integrations existing at `end` by the verdict of their last health check in the range:
    `ok`, `broken`, or `unchecked` when none ran."""
    h = health_checks.c
    last = (
        sa.select(sa.func.max(h.id).label("id"))
        .where(h.checked_at >= start, h.checked_at < end)
        .group_by(h.integration_id)
        .subquery()
    )
    stmt = (
        sa.select(h.status, sa.func.count())
        .join(last, last.c.id == h.id)
        .join(integrations, integrations.c.id == h.integration_id)
        .where(integrations.c.created_at < end)
        .group_by(h.status)
    )
    counts = {"ok": 0, "broken": 0}
    counts.update({status: int(n) for status, n in conn.execute(stmt)})
    existing = count_rows(conn, integrations, integrations.c.created_at < end)
    counts["unchecked"] = existing - counts["ok"] - counts["broken"]
    return counts


def average_score(conn: sa.Connection, *, end: datetime) -> float | None:
    """The mean relationship score of active contacts, over scores computed before `end`
    (rounded to 4 places, so both databases give the same number); None without any."""
    r = relationship_scores.c
    stmt = (
        sa.select(sa.func.avg(r.score))
        .join(contacts, contacts.c.id == r.contact_id)
        .where(r.computed_at < end, contacts.c.merged_into.is_(None))
    )
    value = conn.scalar(stmt)
    return None if value is None else round(float(value), 4)
