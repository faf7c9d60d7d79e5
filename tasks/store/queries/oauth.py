"""OAuth authorisation states: created before the redirect, consumed once by the callback."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import oauth_states


def create_oauth_state(
    conn: sa.Connection, *, ttl: timedelta, user_id: int | None = None,
    provider: str | None = None, state: str | None = None, now: datetime | None = None,
) -> str:
    """Store a state (a fresh random one unless given) valid for `ttl`; returns it."""
    now = now or utcnow()
    state = state or secrets.token_urlsafe(32)
    conn.execute(sa.insert(oauth_states).values(
        state=state, user_id=user_id, provider=provider, created_at=now, expires_at=now + ttl
    ))
    return state


def consume_oauth_state(
    conn: sa.Connection, state: str, *, now: datetime | None = None
) -> sa.Row[Any] | None:
    """Delete the state and return it if it was still valid; a state is usable once."""
    stmt = sa.delete(oauth_states).where(oauth_states.c.state == state).returning(
        *oauth_states.c
    )
    row = conn.execute(stmt).first()
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


def delete_expired_oauth_states(conn: sa.Connection, *, now: datetime | None = None) -> int:
    """Remove states past their expiry; returns how many."""
    stmt = sa.delete(oauth_states).where(oauth_states.c.expires_at <= (now or utcnow()))
    return conn.execute(stmt).rowcount
