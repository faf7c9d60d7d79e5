"""transaction(snapshot=True): every statement sees the same state; the pool forgets the level."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tasks import store


def test_a_snapshot_does_not_see_commits_made_during_it(db: sa.Engine) -> None:
    with store.transaction() as conn:
        store.ensure_user(conn, email="first@example.com")
    with store.transaction(snapshot=True) as snapshot:
        assert len(store.list_users(snapshot)) == 1
        with store.transaction() as writer:  # another connection commits meanwhile
            store.ensure_user(writer, email="second@example.com")
        assert len(store.list_users(snapshot)) == 1
    with store.transaction(readonly=True) as conn:
        assert len(store.list_users(conn)) == 2


def test_a_snapshot_refuses_writes(db: sa.Engine) -> None:
    with pytest.raises(sa.exc.DBAPIError), store.transaction(snapshot=True) as conn:
        store.ensure_user(conn, email="nope@example.com")
    with store.transaction() as conn:
        assert store.list_users(conn) == []


def test_the_next_transaction_is_back_to_the_default_level(db: sa.Engine, backend: str) -> None:
    with store.transaction() as conn:
        default = conn.get_isolation_level()
    with store.transaction(snapshot=True) as conn:
        if backend == "postgresql":
            assert conn.get_isolation_level() == "REPEATABLE READ"
    with store.transaction() as conn:
        assert conn.get_isolation_level() == default
        store.ensure_user(conn, email="writes@example.com")  # and it may write again
