"""Integrations: a mail, calendar or CRM source per user; tokens, status, cursor, health checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tasks.store.db.coltypes import utcnow
from tasks.store.db.tables import health_checks, integrations

STATUSES = ("ok", "broken")


def add_integration(
    conn: sa.Connection, *, user_id: int, kind: str, provider: str, source: str | None = None,
    token_endpoint: str | None = None, client_id: str | None = None,
    client_secret_env: str | None = None, access_token: str | None = None,
    refresh_token: str | None = None, expires_at: datetime | None = None,
) -> int:
    """Create an integration. `client_secret_env` names the variable holding the secret."""
    values = {k: v for k, v in locals().items() if k != "conn"}
    stmt = sa.insert(integrations).values(values).returning(integrations.c.id)
    return int(conn.execute(stmt).scalar_one())


def get_integration(conn: sa.Connection, integration_id: int) -> sa.Row[Any] | None:
    stmt = sa.select(integrations).where(integrations.c.id == integration_id)
    return conn.execute(stmt).first()


def lock_integration(conn: sa.Connection, integration_id: int) -> sa.Row[Any] | None:
    """`get_integration`, holding the row until the transaction ends, so a caller can compare it
    with what it read before some network I/O and then write (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    stmt = sa.select(integrations).where(integrations.c.id == integration_id)
    return conn.execute(stmt.with_for_update()).first()


def list_integrations(
    conn: sa.Connection, *, kind: str | None = None, status: str | None = None,
    user_id: int | None = None,
) -> list[sa.Row[Any]]:
    stmt = sa.select(integrations).order_by(integrations.c.id)
    for column, value in (("kind", kind), ("status", status), ("user_id", user_id)):
        if value is not None:
            stmt = stmt.where(integrations.c[column] == value)
    return list(conn.execute(stmt))


def tokens_expiring(
    conn: sa.Connection, *, within: timedelta, now: datetime | None = None
) -> list[sa.Row[Any]]:
    """Healthy integrations with a refresh token whose access token expires within `within`
    of `now` (already expired ones included), soonest first."""
    deadline = (now or utcnow()) + within
    i = integrations.c
    stmt = (
        sa.select(integrations)
        .where(i.status == "ok", i.refresh_token.is_not(None), i.expires_at <= deadline)
        .order_by(i.expires_at, i.id)
    )
    return list(conn.execute(stmt))


def store_tokens(
    conn: sa.Connection, integration_id: int, *, access_token: str, expires_at: datetime | None,
    refresh_token: str | None = None,
) -> None:
    """Save a refreshed token. A None `refresh_token` keeps the old one: servers may not rotate it
    (RFC 6749 section 6)."""
    values: dict[str, Any] = {"access_token": access_token, "expires_at": expires_at,
                              "updated_at": utcnow()}
    if refresh_token is not None:
        values["refresh_token"] = refresh_token
    _update(conn, integration_id, values)


def set_status(
    conn: sa.Connection, integration_id: int, status: str, *, error: str | None = None
) -> str:
    """Mark an integration ok or broken (with the error); returns the status it had before, so a
    caller can tell a new failure from a known one."""
    if status not in STATUSES:
        raise ValueError(f"integration status {status!r} is not one of {STATUSES}")
    i = integrations.c
    stmt = sa.select(i.status, i.last_error).where(i.id == integration_id)
    row = conn.execute(stmt.with_for_update()).first()  # FOR UPDATE: PostgreSQL; SQLite skips it
    if row is None:
        raise LookupError(f"no integration {integration_id}")
    if (row.status, row.last_error) != (status, error):
        _update(conn, integration_id, {"status": status, "last_error": error,
                                       "updated_at": utcnow()})
    return str(row.status)


def set_cursor(conn: sa.Connection, integration_id: int, cursor: str | None) -> None:
    """Remember how far a sync got; the format is the sync task's own."""
    _update(conn, integration_id, {"sync_cursor": cursor, "updated_at": utcnow()})


def client_secret(integration: Any, env: Mapping[str, str] = os.environ) -> str | None:
    """The client secret an integration refers to, read from the environment; None if unset."""
    name = integration.client_secret_env
    return env.get(name) if name else None


def _update(conn: sa.Connection, integration_id: int, values: dict[str, Any]) -> None:
    stmt = sa.update(integrations).where(integrations.c.id == integration_id).values(values)
    if conn.execute(stmt).rowcount != 1:
        raise LookupError(f"no integration {integration_id}")


def record_health_check(
    conn: sa.Connection, integration_id: int, *, status: str, detail: str | None = None,
    checked_at: datetime | None = None,
) -> int:
    """Store the result of probing an integration (status ok or broken)."""
    if status not in STATUSES:
        raise ValueError(f"health status {status!r} is not one of {STATUSES}")
    values = {"integration_id": integration_id, "status": status, "detail": detail,
              "checked_at": checked_at or utcnow()}
    stmt = sa.insert(health_checks).values(values).returning(health_checks.c.id)
    return int(conn.execute(stmt).scalar_one())


def health_history(
    conn: sa.Connection, integration_id: int, *, limit: int = 20
) -> list[sa.Row[Any]]:
    """The integration's latest checks, newest first."""
    h = health_checks.c
    stmt = (
        sa.select(health_checks)
        .where(h.integration_id == integration_id)
        .order_by(h.checked_at.desc(), h.id.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt))


def latest_health_check(conn: sa.Connection, integration_id: int) -> sa.Row[Any] | None:
    rows = health_history(conn, integration_id, limit=1)
    return rows[0] if rows else None
