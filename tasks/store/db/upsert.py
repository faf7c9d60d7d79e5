"""INSERT ... ON CONFLICT for both databases: the one place that picks a dialect's insert()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    try:
        return _INSERTS[conn.dialect.name](table)
    except KeyError:
        raise NotImplementedError(f"no upsert for database {conn.dialect.name!r}") from None


def insert_ignore(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    returning: str | None = None,
) -> int | None:
    """Insert a row unless one with the same `conflict` columns exists.

    Returns the `returning` integer column of the new row (default: 1), or None when the row
    existed.
    """
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return _returned_id(conn, stmt, table, returning)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | None = None,
    where: sa.ColumnElement[bool] | None = None,
    returning: str | None = None,
) -> int | None:
    """Insert a row, or update the existing row with the same `conflict` columns.

    `update` names the columns overwritten from `values` (default: all but the conflict ones).
    `where`, a condition on the existing row, limits the update: a row failing it is left alone
    and None is returned. Otherwise returns the `returning` integer column (default: 1).
    """
    stmt = _insert(conn, table).values(**values)
    names = update if update is not None else [c for c in values if c not in conflict]
    stmt = stmt.on_conflict_do_update(
        index_elements=conflict,
        set_={name: stmt.excluded[name] for name in names},
        where=where,
    )
    return _returned_id(conn, stmt, table, returning)


def _returned_id(
    conn: sa.Connection, stmt: Any, table: sa.Table, returning: str | None
) -> int | None:
    column = table.c[returning] if returning else sa.literal(1)
    value = conn.execute(stmt.returning(column)).scalar_one_or_none()
    return None if value is None else int(value)


def insert_ignore_many(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    chunk: int = 500,
) -> int:
    """Insert each row unless its `conflict` columns exist already; returns how many were new."""
    inserted = 0
    for start in range(0, len(rows), chunk):
        part = [dict(row) for row in rows[start:start + chunk]]
        stmt = _insert(conn, table).values(part).on_conflict_do_nothing(index_elements=conflict)
        # Count RETURNING rows: an INSERT's rowcount is not reliably kept by every driver.
        inserted += len(conn.execute(stmt.returning(sa.literal(1))).all())
    return inserted
