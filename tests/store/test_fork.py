"""Fork safety: a forked child (Celery prefork) builds its own pool; the parent's keeps working."""

from __future__ import annotations

import json
import multiprocessing
import os

import sqlalchemy as sa

from tasks import store


def connection_identity(conn: sa.Connection) -> object:
    """Which physical connection this is: the server process on PostgreSQL, else the object."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    return id(conn.connection.dbapi_connection)


def use_store_in_child(email: str) -> dict[str, object]:
    engine = store.get_engine()
    with store.transaction() as conn:
        store.ensure_user(conn, email=email)
        identity = connection_identity(conn)
        count = store.row_counts(conn)["users"]
    return {"engine": id(engine), "connection": identity, "users": count}


def parent_state() -> tuple[sa.Engine, object]:
    engine = store.get_engine()
    with store.transaction() as conn:
        store.ensure_user(conn, email="parent@example.com")
        return engine, connection_identity(conn)


def assert_parent_pool_still_works(engine: sa.Engine, identity: object, child: dict) -> None:
    assert store.get_engine() is engine
    assert child["engine"] != id(engine)
    assert child["connection"] != identity
    with store.transaction() as conn:
        assert connection_identity(conn) == identity  # the very same pooled connection, alive
        emails = sorted(user.email for user in store.list_users(conn))
    assert emails == ["child@example.com", "parent@example.com"]
    assert child["users"] == 2


def test_os_fork_child_uses_its_own_pool(db: sa.Engine) -> None:
    engine, identity = parent_state()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(use_store_in_child("child@example.com")).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert_parent_pool_still_works(engine, identity, json.loads(report))


def _child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(use_store_in_child("child@example.com"))


def test_multiprocessing_fork_child_uses_its_own_pool(db: sa.Engine) -> None:
    engine, identity = parent_state()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue,))
    process.start()
    report = queue.get(timeout=30)
    process.join(timeout=30)
    assert process.exitcode == 0
    assert_parent_pool_still_works(engine, identity, report)
