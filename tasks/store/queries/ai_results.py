"""Stored results of the AI tasks: contact and interaction analyses, briefings, drafted messages.

Each result has one row per subject (and kind or purpose); saving replaces it, and saving the
same result again writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import (
    briefings,
    contact_analyses,
    generated_messages,
    interaction_analyses,
    interactions,
)
from tasks.store.db.upsert import upsert

_CHUNK = 500  # ids per IN (...) list
# table name -> (table, the subject's id column, the column that orders a subject's rows)
SUBJECTS: dict[str, tuple[sa.Table, str, str]] = {
    "contact_analyses": (contact_analyses, "contact_id", "kind"),
    "generated_messages": (generated_messages, "contact_id", "purpose"),
    "interaction_analyses": (interaction_analyses, "interaction_id", "kind"),
    "briefings": (briefings, "meeting_id", "id"),
}


def _save(conn: sa.Connection, table: sa.Table, key: Mapping[str, Any],
          fields: Mapping[str, Any]) -> bool:
    """Upsert `fields` under `key`; True when a row was inserted or changed."""
    differs = sa.or_(*(table.c[name].is_distinct_from(value) for name, value in fields.items()))
    values = {**key, **fields, "created_at": utcnow()}
    return upsert(conn, table, values, conflict=list(key), where=differs) is not None


def _get(conn: sa.Connection, table: sa.Table, **key: Any) -> sa.Row[Any] | None:
    stmt = sa.select(table).where(*(table.c[name] == value for name, value in key.items()))
    return conn.execute(stmt).first()


def save_contact_analysis(
    conn: sa.Connection, *, contact_id: int, kind: str, results: dict[str, Any], provider: str
) -> bool:
    """Store an analysis of a contact; `kind` e.g. 'analysis' or 'interests'."""
    key = {"contact_id": contact_id, "kind": kind}
    return _save(conn, contact_analyses, key, {"results": results, "provider": provider})


def get_contact_analysis(conn: sa.Connection, contact_id: int, kind: str) -> sa.Row[Any] | None:
    """The contact's stored analysis of `kind`, or None."""
    return _get(conn, contact_analyses, contact_id=contact_id, kind=kind)


def save_interaction_analysis(
    conn: sa.Connection, *, interaction_id: int, kind: str, results: dict[str, Any],
    provider: str,
) -> bool:
    """Store an analysis of an interaction; `kind` e.g. 'analysis'."""
    key = {"interaction_id": interaction_id, "kind": kind}
    return _save(conn, interaction_analyses, key, {"results": results, "provider": provider})


def get_interaction_analysis(
    conn: sa.Connection, interaction_id: int, kind: str
) -> sa.Row[Any] | None:
    """The interaction's stored analysis of `kind`, or None."""
    return _get(conn, interaction_analyses, interaction_id=interaction_id, kind=kind)


def save_briefing(conn: sa.Connection, *, meeting_id: int, content: str, provider: str) -> bool:
    """Store the briefing for a meeting (one per meeting)."""
    key = {"meeting_id": meeting_id}
    return _save(conn, briefings, key, {"content": content, "provider": provider})


def get_briefing(conn: sa.Connection, meeting_id: int) -> sa.Row[Any] | None:
    """The meeting's stored briefing, or None."""
    return _get(conn, briefings, meeting_id=meeting_id)


def save_generated_message(
    conn: sa.Connection, *, contact_id: int, purpose: str, draft: str, provider: str
) -> bool:
    """Store the draft message for a contact and purpose (one per pair)."""
    key = {"contact_id": contact_id, "purpose": purpose}
    return _save(conn, generated_messages, key, {"draft": draft, "provider": provider})


def get_generated_message(
    conn: sa.Connection, contact_id: int, purpose: str
) -> sa.Row[Any] | None:
    """The stored draft for a contact and purpose, or None."""
    return _get(conn, generated_messages, contact_id=contact_id, purpose=purpose)


def results_by_subject(
    conn: sa.Connection, table: str, subject_ids: Iterable[int]
) -> dict[int, list[sa.Row[Any]]]:
    """{subject id: its stored results} for a page of subjects, read in one query per chunk.

    `table` is one of SUBJECTS: contact_analyses and generated_messages by contact,
    interaction_analyses by interaction, briefings by meeting. Rows are in key order.
    """
    target, column, order = SUBJECTS[table]
    ids = list(dict.fromkeys(subject_ids))
    found: dict[int, list[sa.Row[Any]]] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            sa.select(target).where(target.c[column].in_(ids[start:start + _CHUNK]))
            .order_by(target.c[column], target.c[order])
        )
        for row in conn.execute(stmt):
            found.setdefault(getattr(row, column), []).append(row)
    return found


def interactions_without_analysis(
    conn: sa.Connection, *, kind: str, limit: int, after_id: int = 0
) -> list[int]:
    """Ids of interactions with a subject or body but no analysis of `kind`, ascending."""
    i = interactions.c
    analysed = sa.exists().where(interaction_analyses.c.interaction_id == i.id,
                                 interaction_analyses.c.kind == kind)
    stmt = (
        sa.select(i.id)
        .where(i.id > after_id, sa.or_(i.subject.is_not(None), i.body.is_not(None)), ~analysed)
        .order_by(i.id).limit(limit)
    )
    return list(conn.scalars(stmt))
