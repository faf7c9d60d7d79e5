"""Contacts: find-or-create by normalised email or phone, edit, list in batches, merge, delete."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import contact_analyses, contacts, generated_messages, interactions
from tasks.store.db.tables import relationship_scores as scores
from tasks.store.queries.normalize import normalize_email, normalize_phone
from tasks.store.queries.tags import add_tags, tags_of

EDITABLE = ("name", "email", "email_normalized", "phone", "phone_normalized", "company",
            "last_touch_at", "next_touch_at")
_FILLABLE = ("name", "email", "phone", "company")  # what a merge or an upsert fills when blank
_CHUNK = 500


def get_contact(conn: sa.Connection, contact_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(contacts).where(contacts.c.id == contact_id)).first()


def resolve_contact(conn: sa.Connection, contact_id: int) -> int:
    """Follow `merged_into` from a contact to the one that survived deduplication."""
    seen = {contact_id}
    while (target := conn.scalar(
        sa.select(contacts.c.merged_into).where(contacts.c.id == contact_id)
    )) is not None:
        if target in seen:
            raise RuntimeError(f"merge cycle through contact {target}")
        seen.add(target)
        contact_id = target
    return contact_id


def find_contact(
    conn: sa.Connection, *, user_id: int, email: str | None = None, phone: str | None = None
) -> int | None:
    """The surviving contact with this email, else this phone (raw or normalised), or None."""
    keys = ((contacts.c.email_normalized, normalize_email(email)),
            (contacts.c.phone_normalized, normalize_phone(phone)))
    for column, value in keys:
        if value is None:
            continue
        stmt = (
            sa.select(contacts.c.id)
            .where(contacts.c.user_id == user_id, column == value)
            .order_by(contacts.c.merged_into.is_not(None), contacts.c.id)  # active first
            .limit(1)
        )
        found = conn.scalar(stmt)
        if found is not None:
            return resolve_contact(conn, found)
    return None


def upsert_contact(
    conn: sa.Connection, *, user_id: int, email: str | None = None, name: str | None = None,
    phone: str | None = None, company: str | None = None,
) -> int:
    """The contact matching `email` or `phone`, its blank fields filled in; else a new one."""
    given = {"name": name, "email": email, "phone": phone, "company": company}
    found = find_contact(conn, user_id=user_id, email=email, phone=phone)
    if found is None:
        values = {**given, "user_id": user_id, "email_normalized": normalize_email(email),
                  "phone_normalized": normalize_phone(phone)}
        return int(conn.execute(
            sa.insert(contacts).values(values).returning(contacts.c.id)
        ).scalar_one())
    row = get_contact(conn, found)
    assert row is not None
    blanks = {k: v for k, v in given.items() if v is not None and getattr(row, k) is None}
    update_contact(conn, found, **blanks)
    return found


def update_contact(conn: sa.Connection, contact_id: int, **fields: Any) -> bool:
    """Set the given EDITABLE fields; True when something changed (no write otherwise).

    Setting `email` or `phone` recomputes its normalised twin unless that is given too.
    """
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable contact fields: {sorted(unknown)}")
    values = dict(fields)
    if "email" in fields:
        values.setdefault("email_normalized", normalize_email(fields["email"]))
    if "phone" in fields:
        values.setdefault("phone_normalized", normalize_phone(fields["phone"]))
    row = get_contact(conn, contact_id)
    if row is None:
        raise LookupError(f"no contact {contact_id}")
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return False
    stmt = sa.update(contacts).where(contacts.c.id == contact_id)
    conn.execute(stmt.values(**changed, updated_at=utcnow()))
    return True


def list_contacts(
    conn: sa.Connection, *, user_id: int | None = None, include_merged: bool = False,
    after_id: int = 0, limit: int | None = None,
) -> list[sa.Row[Any]]:
    """Contacts by id; page through all of them with `after_id=<last id seen>` and `limit`."""
    stmt = sa.select(contacts).where(contacts.c.id > after_id).order_by(contacts.c.id)
    if user_id is not None:
        stmt = stmt.where(contacts.c.user_id == user_id)
    if not include_merged:
        stmt = stmt.where(contacts.c.merged_into.is_(None))
    return list(conn.execute(stmt.limit(limit)))


def active_contact_ids(
    conn: sa.Connection, *, user_id: int, contact_ids: Iterable[int]
) -> list[int]:
    """The ids among `contact_ids` naming the user's active (not merged) contacts, ascending."""
    ids = list(dict.fromkeys(contact_ids))
    found: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        stmt = sa.select(contacts.c.id).where(
            contacts.c.id.in_(ids[start:start + _CHUNK]), contacts.c.user_id == user_id,
            contacts.c.merged_into.is_(None))
        found.extend(conn.scalars(stmt))
    return sorted(found)


def duplicate_groups(conn: sa.Connection, *, user_id: int, by: str) -> list[list[int]]:
    """Active contacts sharing a normalised `email` or `phone` (`by`), ids ascending per group."""
    column = {"email": contacts.c.email_normalized, "phone": contacts.c.phone_normalized}[by]
    active = sa.and_(contacts.c.user_id == user_id, contacts.c.merged_into.is_(None),
                     column.is_not(None))
    shared = sa.select(column).where(active).group_by(column).having(sa.func.count() > 1)
    rows = conn.execute(
        sa.select(column, contacts.c.id).where(active, column.in_(shared))
        .order_by(column, contacts.c.id)
    )
    groups: dict[str, list[int]] = {}
    for key, contact_id in rows:
        groups.setdefault(key, []).append(contact_id)
    return list(groups.values())


def merge_contacts(conn: sa.Connection, *, keep_id: int, drop_id: int) -> int:
    """Merge `drop_id` into `keep_id`: its interactions and tags move, blank fields are filled,
    derived results (scores, analyses, drafts) go, and it stays as a pointer to `keep_id`.

    Returns the number of interactions moved; merging an already merged pair again moves none.
    """
    if keep_id == drop_id:
        raise ValueError(f"cannot merge contact {keep_id} into itself")
    keep = get_contact(conn, resolve_contact(conn, keep_id))
    drop = get_contact(conn, resolve_contact(conn, drop_id))
    if keep is None or drop is None:
        raise LookupError(f"no contact {drop_id if drop is None else keep_id}")
    if keep.id == drop.id:
        return 0  # merged before
    if keep.user_id != drop.user_id:
        raise ValueError(f"contacts {drop.id} and {keep.id} belong to different users")
    moved = conn.execute(
        sa.update(interactions).where(interactions.c.contact_id == drop.id)
        .values(contact_id=keep.id)
    ).rowcount
    add_tags(conn, [keep.id], tags_of(conn, drop.id))
    for table in (scores, contact_analyses, generated_messages):
        conn.execute(sa.delete(table).where(table.c.contact_id == drop.id))
    fills: dict[str, Any] = {k: getattr(drop, k) for k in _FILLABLE if getattr(keep, k) is None}
    touches = [t for t in (keep.last_touch_at, drop.last_touch_at) if t is not None]
    if touches:
        fills["last_touch_at"] = max(touches)
    update_contact(conn, keep.id, **fills)
    for source in (contacts.c.merged_into == drop.id, contacts.c.id == drop.id):
        conn.execute(sa.update(contacts).where(source).values(merged_into=keep.id,
                                                              updated_at=utcnow()))
    return moved


def delete_contacts(conn: sa.Connection, contact_ids: Iterable[int]) -> int:
    """Delete contacts with their interactions, tags and results; returns how many were deleted."""
    ids, deleted = list(dict.fromkeys(contact_ids)), 0
    for start in range(0, len(ids), _CHUNK):
        part = ids[start:start + _CHUNK]
        deleted += conn.execute(sa.delete(contacts).where(contacts.c.id.in_(part))).rowcount
    return deleted


def set_touch(
    conn: sa.Connection, contact_id: int, *, last_touch_at: datetime | None,
    next_touch_at: datetime | None,
) -> bool:
    """Record when the contact was last and should next be in touch; True if that changed."""
    return update_contact(conn, contact_id, last_touch_at=last_touch_at,
                          next_touch_at=next_touch_at)
