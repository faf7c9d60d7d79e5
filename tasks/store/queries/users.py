"""Users: the people whose contacts, integrations and notifications the store holds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tasks.store.db.tables import contacts, interactions, meetings, users
from tasks.store.db.upsert import insert_ignore
from tasks.store.queries.normalize import normalize_email


def ensure_user(
    conn: sa.Connection, *, email: str, name: str | None = None, timezone: str = "UTC"
) -> int:
    """The id of the user with this email, created if missing (idempotent)."""
    address = normalize_email(email)
    if address is None:
        raise ValueError(f"not an email address: {email!r}")
    values = {"email": address, "name": name, "timezone": timezone}
    new_id = insert_ignore(conn, users, values, conflict=["email"], returning="id")
    if new_id is not None:
        return int(new_id)
    return int(conn.execute(sa.select(users.c.id).where(users.c.email == address)).scalar_one())


def find_user(conn: sa.Connection, *, email: str) -> int | None:
    """The id of the user with this email (compared normalised), or None."""
    address = normalize_email(email)
    return conn.scalar(sa.select(users.c.id).where(users.c.email == address))


def get_user(conn: sa.Connection, user_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(users).where(users.c.id == user_id)).first()


def list_users(conn: sa.Connection) -> list[sa.Row[Any]]:
    return list(conn.execute(sa.select(users).order_by(users.c.id)))


def user_data_counts(conn: sa.Connection, user_id: int) -> dict[str, int]:
    """How many contacts (merged ones included), interactions and meetings the user has."""
    owned = sa.select(contacts.c.id).where(contacts.c.user_id == user_id)
    queries = {
        "contacts": sa.select(sa.func.count()).where(contacts.c.user_id == user_id),
        "interactions": sa.select(sa.func.count()).where(interactions.c.contact_id.in_(owned)),
        "meetings": sa.select(sa.func.count()).where(meetings.c.user_id == user_id),
    }
    return {name: int(conn.scalar(stmt) or 0) for name, stmt in queries.items()}
