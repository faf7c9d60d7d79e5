"""Retention and upkeep: delete rows past a cutoff, VACUUM and ANALYZE, count rows per table."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tasks.store.db.counts import count_rows
from tasks.store.db.engine import create_engine
from tasks.store.db.tables import metadata

# The timestamp that ages each table's rows. Tables missing here are never purged by age:
# users, contacts, integrations and their tags are data, not history.
RETENTION_COLUMNS = {
    "interactions": "occurred_at",
    "oauth_states": "expires_at",
    "notifications": "created_at",
    "alerts": "created_at",
    "meetings": "ends_at",
    "briefings": "created_at",
    "generated_messages": "created_at",
    "exports": "created_at",
    "health_checks": "checked_at",
}


def purge_older_than(conn: sa.Connection, table: str, cutoff: datetime) -> int:
    """Delete rows of `table` aged before `cutoff` (see RETENTION_COLUMNS); returns how many.

    Rows that depend on them go too (foreign keys cascade), e.g. an old meeting's briefing.
    """
    try:
        column = RETENTION_COLUMNS[table]
    except KeyError:
        raise ValueError(
            f"table {table!r} has no retention rule; known: {sorted(RETENTION_COLUMNS)}"
        ) from None
    target = metadata.tables[table]
    return conn.execute(sa.delete(target).where(target.c[column] < cutoff)).rowcount


def row_counts(conn: sa.Connection) -> dict[str, int]:
    """{table: number of rows} for every table of the schema."""
    return {name: count_rows(conn, table) for name, table in metadata.tables.items()}


def vacuum_analyze(url: str | sa.URL | None = None) -> None:
    """Reclaim space and refresh the planner's statistics (VACUUM, then ANALYZE).

    Both statements refuse to run inside a transaction, so this uses its own unpooled
    autocommit connection, not `transaction()`.
    """
    engine = create_engine(url, autocommit=True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
