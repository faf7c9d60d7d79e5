"""The database: its URL, one lazily built engine per process (rebuilt after fork), transactions.

`AIR_DATABASE_URL` picks the database; without it the store is the SQLite file `.air/air.db`
under the working directory. `postgresql://` and `postgres://` URLs get the psycopg 3 driver.
A backup reaches the database through `get_engine()` (SQLite's online backup API on
`raw_connection().driver_connection`) or `libpq_url()` (for pg_dump).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

ENV_VAR = "AIR_DATABASE_URL"
DEFAULT_SQLITE_PATH = Path(".air") / "air.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000  # how long a SQLite writer waits for another before giving up
_READONLY_OPTION = "air_readonly"  # execution option read by the SQLite BEGIN hook

_lock = threading.Lock()
_engine: sa.Engine | None = None
_engine_pid = 0
_engine_key = ""
# Pools inherited across fork: kept referenced so that their connections (the parent's sockets
# and SQLite handles) are never used, closed or garbage-collected in the child.
_orphans: list[sa.Pool] = []


def database_url(value: str | sa.URL | None = None) -> sa.URL:
    """`value`, else `$AIR_DATABASE_URL`, else the SQLite default, with the driver filled in."""
    if isinstance(value, sa.URL):
        return value
    raw = (value if value is not None else os.environ.get(ENV_VAR, "")).strip()
    if not raw:
        return sa.URL.create("sqlite+pysqlite", database=str(Path.cwd() / DEFAULT_SQLITE_PATH))
    url = sa.make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def libpq_url(value: str | sa.URL | None = None) -> str:
    """The PostgreSQL URL (password included) as `pg_dump` and `psql` take it."""
    url = database_url(value)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {url.render_as_string()}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str | sa.URL | None = None, *, autocommit: bool = False) -> sa.Engine:
    """A new engine for `url` (see `database_url`); most callers want `get_engine()` instead.

    `autocommit` builds an unpooled engine whose statements run outside any transaction
    (VACUUM needs that on both databases).
    """
    url = database_url(url)
    options: dict[str, Any] = {}
    if autocommit:
        options.update(isolation_level="AUTOCOMMIT", poolclass=NullPool)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, **options)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = sa.create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    if not autocommit:
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def get_engine() -> sa.Engine:
    """This process's engine for the configured URL, built on first use.

    A forked child (Celery prefork) gets a fresh engine and pool of its own; so does a process
    whose `AIR_DATABASE_URL` changed since the last call (tests do that).
    """
    global _engine, _engine_pid, _engine_key
    url = database_url()
    key = url.render_as_string(hide_password=False)
    with _lock:
        if _engine is not None and (_engine_pid != os.getpid() or _engine_key != key):
            _retire_engine()
        if _engine is None:
            _engine, _engine_pid, _engine_key = create_engine(url), os.getpid(), key
        return _engine


def dispose_engine() -> None:
    """Close this process's pooled connections and forget the engine; the next use builds one."""
    with _lock:
        _retire_engine()


@contextmanager
def transaction(
    *, readonly: bool = False, snapshot: bool = False, engine: sa.Engine | None = None
) -> Iterator[sa.Connection]:
    """One transaction: commits when the block ends, rolls back if it raises.

    On SQLite a writing transaction starts with BEGIN IMMEDIATE, taking the write lock up front
    so that concurrent writers queue on the busy timeout instead of failing half-way. A
    `readonly` transaction refuses writes and, on SQLite, takes no write lock (a long export
    does not hold up the writers). A `snapshot` transaction is readonly and every statement in
    it sees the same committed state, so a paged read is consistent across pages: REPEATABLE
    READ on PostgreSQL (READ COMMITTED takes a new snapshot per statement); a SQLite read
    transaction in WAL mode is one snapshot already.
    """
    with (engine or get_engine()).connect() as conn:
        if readonly or snapshot:
            options: dict[str, Any] = {"postgresql_readonly": True, _READONLY_OPTION: True}
            if snapshot and conn.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"  # reset when the pool takes it back
            conn.execution_options(**options)
        with conn.begin():
            yield conn


def _retire_engine() -> None:
    global _engine
    if _engine is None:
        return
    if _engine_pid == os.getpid():
        _engine.dispose()
    else:
        _orphans.append(_engine.pool)
        _engine.dispose(close=False)  # a fresh pool; the parent's connections stay untouched
    _engine = None


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the moment of fork
    _retire_engine()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module; _sqlite_on_begin issues BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        # synchronous stays FULL: a commit is on disk before Celery acks the task (acks_late).
    finally:
        cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    readonly = conn.get_execution_options().get(_READONLY_OPTION, False)
    # Set on every BEGIN, so a pooled connection never carries it into the next transaction.
    conn.exec_driver_sql(f"PRAGMA query_only = {int(readonly)}")
    conn.exec_driver_sql("BEGIN DEFERRED" if readonly else "BEGIN IMMEDIATE")
