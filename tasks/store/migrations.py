"""Versioned schema migrations, applied in order under a lock and recorded in `schema_version`.

`tables.py` always describes the latest schema. Migration 1 builds that schema from nothing, so a
fresh database runs migration 1 and records every later version as applied; an existing database
runs just the versions it lacks, in order. A later change to `tables.py` therefore comes with a
new migration that alters existing databases the same way (add a column, an index, ...).

Every migration, and its row in `schema_version`, commits in one transaction. Two processes
starting at once are serialised: PostgreSQL by a transaction-scoped advisory lock, SQLite by the
BEGIN IMMEDIATE that every store transaction starts with. The second one finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tasks.store.db.coltypes import UTCDateTime, utcnow
from tasks.store.db.engine import get_engine, transaction
from tasks.store.db.tables import metadata

# pg_advisory_xact_lock key: "AIR" in ASCII. Released by the migration transaction's end.
ADVISORY_LOCK_KEY = 0x414952


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sa.Connection], None]


class SchemaTooNew(RuntimeError):
    """Raised when the database has migrations this code does not know (the code is too old)."""


def _create_schema(conn: sa.Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the AIR schema", _create_schema),
)

schema_version = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)


def migrate(
    engine: sa.Engine | None = None, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Bring the schema up to date; returns the versions this call applied (empty if current)."""
    _check_order(migrations)
    with transaction(engine=engine or get_engine()) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        schema_version.create(conn, checkfirst=True)
        done = set(conn.scalars(sa.select(schema_version.c.version)))
        unknown = done - {m.version for m in migrations}
        if unknown:
            raise SchemaTooNew(
                f"database has schema version(s) {sorted(unknown)} this code does not know; "
                f"upgrade air (it knows up to {migrations[-1].version})"
            )
        pending = [m for m in migrations if m.version not in done]
        if not pending:
            return []
        # A fresh database gets the latest schema from the first migration alone.
        to_run = pending[:1] if not done else pending
        for migration in to_run:
            migration.apply(conn)
        now = utcnow()
        conn.execute(
            schema_version.insert(),
            [{"version": m.version, "name": m.name, "applied_at": now} for m in pending],
        )
        return [m.version for m in pending]


def current_version(conn: sa.Connection) -> int:
    """The highest applied version, 0 for a database never migrated."""
    if not sa.inspect(conn).has_table(schema_version.name):
        return 0
    return conn.scalar(sa.select(sa.func.max(schema_version.c.version))) or 0


def _check_order(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if not versions or versions != sorted(set(versions)) or versions[0] != 1:
        raise ValueError(f"migration versions must start at 1 and increase: {versions}")
