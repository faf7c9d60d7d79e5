"""Contact tags: a (contact, tag) table, so tagging is set-based and queries are portable."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from tasks.store.db.tables import contact_tags, contacts
from tasks.store.db.upsert import insert_ignore_many

_CHUNK = 500  # ids per IN (...) list, well under every database's parameter limit


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags stripped, empty ones refused, duplicates dropped, order kept."""
    cleaned: dict[str, None] = {}
    for tag in tags:
        text = tag.strip()
        if not text:
            raise ValueError("empty tag")
        cleaned[text] = None
    return list(cleaned)


def add_tags(conn: sa.Connection, contact_ids: Iterable[int], tags: Iterable[str]) -> int:
    """Tag every contact with every tag; returns how many (contact, tag) pairs were new."""
    names = clean_tags(tags)
    rows = [{"contact_id": cid, "tag": tag} for cid in dict.fromkeys(contact_ids) for tag in names]
    return insert_ignore_many(conn, contact_tags, rows, conflict=["contact_id", "tag"])


def remove_tags(conn: sa.Connection, contact_ids: Iterable[int], tags: Iterable[str]) -> int:
    """Untag; returns how many (contact, tag) pairs were removed."""
    names = clean_tags(tags)
    ids = list(dict.fromkeys(contact_ids))
    removed = 0
    for start in range(0, len(ids), _CHUNK):
        stmt = sa.delete(contact_tags).where(
            contact_tags.c.contact_id.in_(ids[start:start + _CHUNK]),
            contact_tags.c.tag.in_(names),
        )
        removed += conn.execute(stmt).rowcount
    return removed


def tags_of(conn: sa.Connection, contact_id: int) -> list[str]:
    stmt = (
        sa.select(contact_tags.c.tag)
        .where(contact_tags.c.contact_id == contact_id)
        .order_by(contact_tags.c.tag)
    )
    return list(conn.scalars(stmt))


def tags_by_contact(conn: sa.Connection, contact_ids: Iterable[int]) -> dict[int, list[str]]:
    """{contact id: its tags, sorted} for a page of contacts; untagged contacts are absent."""
    ids = list(dict.fromkeys(contact_ids))
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            sa.select(contact_tags.c.contact_id, contact_tags.c.tag)
            .where(contact_tags.c.contact_id.in_(ids[start:start + _CHUNK]))
            .order_by(contact_tags.c.contact_id, contact_tags.c.tag)
        )
        for contact_id, tag in conn.execute(stmt):
            found.setdefault(contact_id, []).append(tag)
    return found


def contacts_with_tag(conn: sa.Connection, *, user_id: int, tag: str) -> list[int]:
    """Ids of the user's active (not merged) contacts carrying `tag`."""
    stmt = (
        sa.select(contacts.c.id)
        .join(contact_tags, contact_tags.c.contact_id == contacts.c.id)
        .where(
            contacts.c.user_id == user_id,
            contacts.c.merged_into.is_(None),
            contact_tags.c.tag == tag.strip(),
        )
        .order_by(contacts.c.id)
    )
    return list(conn.scalars(stmt))
