"""Counting rows in one query: all that match, or how many match per value of a column."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def count_rows(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    """How many rows of `table` match every condition of `where` (all rows without any)."""
    return int(conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


def counts_by(
    conn: sa.Connection, column: sa.ColumnElement[Any], *where: sa.ColumnElement[bool]
) -> dict[Any, int]:
    """{value of `column`: rows} over the rows matching `where`; a value without rows is absent."""
    stmt = sa.select(column, sa.func.count()).where(*where).group_by(column)
    return {value: int(n) for value, n in conn.execute(stmt)}
