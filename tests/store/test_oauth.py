"""oauth.py: states are single-use, expire, and expired ones are cleaned up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_state_is_consumed_once(conn: sa.Connection, user_id: int) -> None:
    state = store.create_oauth_state(conn, ttl=timedelta(minutes=10), user_id=user_id,
                                     provider="google", now=NOW)
    assert len(state) >= 32
    row = store.consume_oauth_state(conn, state, now=NOW + timedelta(minutes=1))
    assert row is not None
    assert (row.user_id, row.provider) == (user_id, "google")
    assert store.consume_oauth_state(conn, state, now=NOW) is None


def test_an_expired_state_is_refused(conn: sa.Connection) -> None:
    state = store.create_oauth_state(conn, ttl=timedelta(minutes=10), now=NOW)
    assert store.consume_oauth_state(conn, state, now=NOW + timedelta(minutes=10)) is None


def test_delete_expired_states(conn: sa.Connection) -> None:
    for minutes in (1, 5, 60):
        store.create_oauth_state(conn, ttl=timedelta(minutes=minutes), now=NOW)
    later = NOW + timedelta(minutes=10)
    assert store.delete_expired_oauth_states(conn, now=later) == 2
    assert store.delete_expired_oauth_states(conn, now=later) == 0
    assert store.row_counts(conn)["oauth_states"] == 1
