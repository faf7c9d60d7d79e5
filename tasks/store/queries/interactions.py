"""Interactions with a contact (email, meeting, call, message), recorded idempotently per source."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tasks.store.db.counts import counts_by
from tasks.store.db.tables import contacts, interactions
from tasks.store.db.upsert import insert_ignore

KINDS = ("email", "meeting", "call", "message")
DIRECTIONS = ("in", "out")
_CHUNK = 500  # ids per IN (...) list


def record_interaction(
    conn: sa.Connection, *, contact_id: int, kind: str, occurred_at: datetime,
    integration_id: int | None = None, source_id: str | None = None,
    subject: str | None = None, body: str | None = None, direction: str | None = None,
    features: dict[str, Any] | None = None,
) -> int | None:
    """Store an interaction; returns its id, or None when (integration, source_id) exists already.

    Synced items must pass both `integration_id` and `source_id` (Message-ID, file name, UID):
    the pair is unique, which is what makes re-running a sync harmless.
    """
    if kind not in KINDS:
        raise ValueError(f"interaction kind {kind!r} is not one of {KINDS}")
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {DIRECTIONS}")
    if (integration_id is None) != (source_id is None):
        raise ValueError("give both integration_id and source_id, or neither")
    values = {
        "contact_id": contact_id, "kind": kind, "occurred_at": occurred_at,
        "integration_id": integration_id, "source_id": source_id, "subject": subject,
        "body": body, "direction": direction, "features": features,
    }
    if source_id is None:
        stmt = sa.insert(interactions).values(values).returning(interactions.c.id)
        return int(conn.execute(stmt).scalar_one())
    return insert_ignore(
        conn, interactions, values, conflict=["integration_id", "source_id"], returning="id"
    )


def has_interaction(conn: sa.Connection, *, integration_id: int, source_id: str) -> bool:
    """Whether this source item was recorded already (lets a sync skip parsing it)."""
    stmt = sa.select(interactions.c.id).where(
        interactions.c.integration_id == integration_id, interactions.c.source_id == source_id
    )
    return conn.scalar(stmt) is not None


def get_interaction(conn: sa.Connection, interaction_id: int) -> sa.Row[Any] | None:
    stmt = sa.select(interactions).where(interactions.c.id == interaction_id)
    return conn.execute(stmt).first()


def list_interactions(
    conn: sa.Connection, *, contact_id: int | None = None, user_id: int | None = None,
    since: datetime | None = None, until: datetime | None = None,
    without_features: bool = False, after_id: int = 0, limit: int | None = None,
) -> list[sa.Row[Any]]:
    """Interactions by id, filtered; page with `after_id=<last id seen>` and `limit`."""
    stmt = sa.select(interactions).where(interactions.c.id > after_id)
    if contact_id is not None:
        stmt = stmt.where(interactions.c.contact_id == contact_id)
    if user_id is not None:
        owned = sa.select(contacts.c.id).where(contacts.c.user_id == user_id)
        stmt = stmt.where(interactions.c.contact_id.in_(owned))
    if since is not None:
        stmt = stmt.where(interactions.c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(interactions.c.occurred_at < until)
    if without_features:
        stmt = stmt.where(interactions.c.features.is_(None))
    return list(conn.execute(stmt.order_by(interactions.c.id).limit(limit)))


def set_features(conn: sa.Connection, interaction_id: int, features: dict[str, Any]) -> bool:
    """Store an interaction's computed features; True when they differ from what was stored."""
    current = conn.scalar(
        sa.select(interactions.c.features).where(interactions.c.id == interaction_id)
    )
    if current == features:
        return False
    stmt = sa.update(interactions).where(interactions.c.id == interaction_id)
    return conn.execute(stmt.values(features=features)).rowcount == 1


def activity_by_contact(
    conn: sa.Connection, *, since: datetime | None = None, until: datetime | None = None,
    user_id: int | None = None,
) -> list[sa.Row[Any]]:
    """Per contact with interactions in [since, until): `contact_id, count, first_at, last_at`."""
    i = interactions.c
    stmt = sa.select(
        i.contact_id,
        sa.func.count().label("count"),
        sa.func.min(i.occurred_at).label("first_at"),
        sa.func.max(i.occurred_at).label("last_at"),
    ).group_by(i.contact_id).order_by(i.contact_id)
    if since is not None:
        stmt = stmt.where(i.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(i.occurred_at < until)
    if user_id is not None:
        stmt = stmt.where(i.contact_id.in_(sa.select(contacts.c.id).where(
            contacts.c.user_id == user_id)))
    return list(conn.execute(stmt))


def counts_by_kind(conn: sa.Connection, *, since: datetime, until: datetime) -> dict[str, int]:
    """How many interactions of each kind occurred in [since, until)."""
    i = interactions.c
    return counts_by(conn, i.kind, i.occurred_at >= since, i.occurred_at < until)


def clear_bodies(conn: sa.Connection, *, before: datetime) -> int:
    """Blank the body of interactions that occurred before `before`, keeping the rest of them
    (subject, time, features); returns how many bodies were cleared."""
    stmt = sa.update(interactions).where(
        interactions.c.occurred_at < before, interactions.c.body.is_not(None)
    ).values(body=None)
    return conn.execute(stmt).rowcount


def contact_timelines(
    conn: sa.Connection, contact_ids: Iterable[int]
) -> dict[int, list[Any]]:
    """{contact id: its interactions as `id, occurred_at, direction, kind`, oldest first (ties
    by id)} for a page of contacts; contacts without interactions map to []."""
    ids = list(dict.fromkeys(contact_ids))
    found: dict[int, list[Any]] = {contact_id: [] for contact_id in ids}
    i = interactions.c
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            sa.select(i.contact_id, i.id, i.occurred_at, i.direction, i.kind)
            .where(i.contact_id.in_(ids[start:start + _CHUNK]))
            .order_by(i.contact_id, i.occurred_at, i.id)
        )
        for row in conn.execute(stmt):
            found[row.contact_id].append(row)
    return found


def recent_interactions(
    conn: sa.Connection, *, contact_id: int, limit: int, before: datetime | None = None
) -> list[sa.Row[Any]]:
    """A contact's `limit` latest interactions (before `before`, if given), newest first."""
    i = interactions.c
    stmt = sa.select(interactions).where(i.contact_id == contact_id)
    if before is not None:
        stmt = stmt.where(i.occurred_at < before)
    return list(conn.execute(stmt.order_by(i.occurred_at.desc(), i.id.desc()).limit(limit)))
