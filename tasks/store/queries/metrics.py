"""Computed metrics: the relationship score of each contact and the daily analytics snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import analytics_snapshots, contacts, relationship_scores
from tasks.store.db.upsert import upsert

_CHUNK = 500  # ids per IN (...) list


def save_score(
    conn: sa.Connection, *, contact_id: int, score: float, recency: float, frequency: float,
    computed_at: datetime | None = None,
) -> bool:
    """Store a contact's current score; True when it was new or different (else nothing written,
    so `computed_at` is when the score last changed)."""
    r = relationship_scores.c
    values = {"contact_id": contact_id, "score": score, "recency": recency,
              "frequency": frequency, "computed_at": computed_at or utcnow()}
    differs = sa.or_(r.score != score, r.recency != recency, r.frequency != frequency)
    return upsert(conn, relationship_scores, values, conflict=["contact_id"],
                  where=differs) is not None


def get_score(conn: sa.Connection, contact_id: int) -> sa.Row[Any] | None:
    stmt = sa.select(relationship_scores).where(relationship_scores.c.contact_id == contact_id)
    return conn.execute(stmt).first()


def scores_by_contact(
    conn: sa.Connection, contact_ids: Sequence[int]
) -> dict[int, sa.Row[Any]]:
    """{contact id: its score row} for a page of contacts; unscored contacts are absent."""
    ids = list(dict.fromkeys(contact_ids))
    found: dict[int, sa.Row[Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = sa.select(relationship_scores).where(
            relationship_scores.c.contact_id.in_(ids[start:start + _CHUNK]))
        found.update({row.contact_id: row for row in conn.execute(stmt)})
    return found


def top_scores(conn: sa.Connection, *, user_id: int, limit: int = 20) -> list[sa.Row[Any]]:
    """The user's best-scored active contacts: contact_id, name, score, recency, frequency."""
    r = relationship_scores.c
    stmt = (
        sa.select(r.contact_id, contacts.c.name, r.score, r.recency, r.frequency, r.computed_at)
        .join(contacts, contacts.c.id == r.contact_id)
        .where(contacts.c.user_id == user_id, contacts.c.merged_into.is_(None))
        .order_by(r.score.desc(), r.contact_id)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def save_snapshot(
    conn: sa.Connection, *, day: date, metrics: dict[str, Any],
    computed_at: datetime | None = None,
) -> bool:
    """Store the analytics of one day (one row per day); True when new or different."""
    values = {"day": day, "metrics": metrics, "computed_at": computed_at or utcnow()}
    differs = analytics_snapshots.c.metrics.is_distinct_from(metrics)
    return upsert(conn, analytics_snapshots, values, conflict=["day"], where=differs) is not None


def get_snapshot(conn: sa.Connection, day: date) -> sa.Row[Any] | None:
    stmt = sa.select(analytics_snapshots).where(analytics_snapshots.c.day == day)
    return conn.execute(stmt).first()


def list_snapshots(
    conn: sa.Connection, *, since: date | None = None, until: date | None = None
) -> list[sa.Row[Any]]:
    """Snapshots for days in [since, until), oldest first."""
    a = analytics_snapshots.c
    stmt = sa.select(analytics_snapshots).order_by(a.day)
    if since is not None:
        stmt = stmt.where(a.day >= since)
    if until is not None:
        stmt = stmt.where(a.day < until)
    return list(conn.execute(stmt))
