"""Schema migrations on Alembic, run in-process under the store's lock; adopt older databases.

The revisions are in `migrations/versions/` beside this module and ship in the wheel; no
alembic.ini is needed. Every upgrade runs in one store transaction that first takes the lock:
a transaction-scoped advisory lock on PostgreSQL, the write lock of the BEGIN IMMEDIATE every
store transaction starts with on SQLite. Two workers starting at once are therefore serialised
and the second finds nothing to do; a revision that fails leaves no trace (both databases roll
DDL back).

Databases created before Alembic recorded their version in a `schema_version` table. Each of
its versions maps to the revision that builds the same schema; such a database is stamped at
that revision, the old table is dropped (`alembic_version` is now the one record, and a second
record could only disagree with it), and the upgrade continues from there.
"""

from __future__ import annotations

import io
from argparse import Namespace
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError

from tasks.store.db.engine import get_engine, transaction

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: "AIR" in ASCII. Released when the migration transaction ends.
ADVISORY_LOCK_KEY = 0x414952
LEGACY_TABLE = "schema_version"
# The pre-Alembic runner's versions and the revision that builds the same schema as each.
LEGACY_REVISIONS = {1: "0001"}


class MigrationError(RuntimeError):
    """Raised when the requested migration cannot be done (unknown or backward target)."""


class SchemaTooNew(MigrationError):
    """Raised when the database has migrations this code does not know (the code is too old)."""


def alembic_config(connection: sa.Connection | None = None, **attributes: Any) -> Config:
    """An in-memory Alembic config for the store's revisions, bound to `connection` if given."""
    # Quiet: air prints its own messages, never Alembic's.
    config = Config(stdout=io.StringIO(), cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes.update(attributes, connection=connection)
    return config


def script_directory() -> ScriptDirectory:
    """The store's revisions."""
    return ScriptDirectory.from_config(alembic_config())


@contextmanager
def locked(engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
    """A store transaction holding the migration lock until it ends."""
    with transaction(engine=engine or get_engine()) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        yield conn


def migrate(engine: sa.Engine | None = None, *, to: str = "head") -> list[str]:
    """Upgrade the schema to revision `to`; returns the revisions this call applied, in order."""
    script = script_directory()
    target = _resolve(script, to)
    applied: list[str] = []

    def record(*, step: Any, **_: Any) -> None:
        applied.append(step.up_revision_id)

    with locked(engine) as conn:
        _adopt_legacy(conn)
        heads = MigrationContext.configure(conn).get_current_heads()
        if heads == (target,):  # what nearly every worker start finds: skip Alembic's set-up
            return []
        _check_known(script, heads)
        _check_forward(script, heads, target)
        command.upgrade(alembic_config(conn, on_version_apply=record), target)
    return applied


def current_revision(conn: sa.Connection) -> str | None:
    """The database's revision; None before the first migration (or for a pre-Alembic one)."""
    return MigrationContext.configure(conn).get_current_revision()


def legacy_version(conn: sa.Connection) -> int | None:
    """The pre-Alembic `schema_version` of a database not yet upgraded, else None."""
    if not sa.inspect(conn).has_table(LEGACY_TABLE):
        return None
    version = conn.scalar(sa.text(f"SELECT max(version) FROM {LEGACY_TABLE}"))
    return None if version is None else int(version)


def history() -> list[Script]:
    """Every revision, oldest first."""
    return list(reversed(list(script_directory().walk_revisions())))


def new_revision(message: str, *, autogenerate: bool = False) -> Path:
    """Write the next revision file (numbered after the head); `autogenerate` fills it in from
    the difference between `tables.py` and the configured database, which must be at head."""
    head = script_directory().get_current_head()
    rev_id = f"{int(head or 0) + 1:04d}"
    if not autogenerate:
        written = command.revision(alembic_config(), message, rev_id=rev_id)
    else:
        with locked() as conn:
            written = command.revision(alembic_config(conn), message, autogenerate=True,
                                       rev_id=rev_id)
    assert isinstance(written, Script)  # one head, so one file
    return Path(written.path)


def _resolve(script: ScriptDirectory, target: str) -> str:
    """The full revision id `target` (`head`, an id or a unique prefix of one) names."""
    try:
        found = script.get_revision(target)
    except CommandError:
        found = None
    if found is None:
        known = ", ".join(s.revision for s in reversed(list(script.walk_revisions())))
        raise MigrationError(f"unknown revision {target!r}; known: head, {known}")
    return found.revision


def _check_forward(script: ScriptDirectory, heads: tuple[str, ...], target: str) -> None:
    for head in heads:
        behind = {s.revision for s in script.iterate_revisions(head, "base")} - {head}
        if target in behind:
            raise MigrationError(
                f"database is at revision {head}, after {target}: upgrade never goes back "
                "(write a new revision that undoes the change)"
            )


def _check_known(script: ScriptDirectory, heads: tuple[str, ...]) -> None:
    for head in heads:
        try:
            script.get_revision(head)
        except CommandError:
            raise SchemaTooNew(
                f"database is at revision {head!r}, which this code does not know; upgrade air "
                f"(it knows up to {script.get_current_head()})"
            ) from None


def _adopt_legacy(conn: sa.Connection) -> None:
    inspector = sa.inspect(conn)
    if not inspector.has_table(LEGACY_TABLE) or inspector.has_table("alembic_version"):
        return
    versions = set(conn.scalars(sa.text(f"SELECT version FROM {LEGACY_TABLE}")))
    unknown = versions - LEGACY_REVISIONS.keys()
    if unknown:
        raise SchemaTooNew(
            f"database has schema version(s) {sorted(unknown)} this code does not know; "
            f"upgrade air (it knows up to {max(LEGACY_REVISIONS)})"
        )
    if versions:
        command.stamp(alembic_config(conn), LEGACY_REVISIONS[max(versions)])
    conn.execute(sa.text(f"DROP TABLE {LEGACY_TABLE}"))
