"""auth.oauth_cleanup: expired OAuth states go, live ones stay; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetterStore
from tasks import store
from tasks.auth.cleanup import cleanup_states
from tasks.store.db.tables import oauth_states


def states() -> list[str]:
    with store.transaction(readonly=True) as conn:
        return sorted(conn.scalars(sa.select(oauth_states.c.state)))


def test_expired_states_are_deleted_once(air_app: Any, db: sa.Engine) -> None:
    now = store.utcnow()
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="owner@example.com")
        for name, age in (("old", 2), ("older", 48), ("live", 0)):
            store.create_oauth_state(conn, ttl=timedelta(hours=1), user_id=user,
                                     provider="google", state=name,
                                     now=now - timedelta(hours=age))
    task = air_app.tasks["auth.oauth_cleanup"]
    assert task.apply().get() == {"deleted": 2}
    assert states() == ["live"]
    assert task.apply().get() == {"deleted": 0}  # idempotent
    assert states() == ["live"]
    with store.transaction() as conn:  # the survivor is still usable by the callback
        assert store.consume_oauth_state(conn, "live") is not None


def test_a_state_expiring_exactly_now_is_expired(db: sa.Engine) -> None:
    now = store.utcnow()
    with store.transaction() as conn:
        store.create_oauth_state(conn, ttl=timedelta(minutes=10), state="edge",
                                 now=now - timedelta(minutes=10))
    assert cleanup_states(now=now) == 1


def test_a_database_failure_is_dead_lettered_without_retry(
    air_app: Any, db_url: str, redis_url: str
) -> None:
    result = air_app.tasks["auth.oauth_cleanup"].apply()  # db_url: never migrated, no tables
    assert result.failed()
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None and letter.retries == 0
    assert letter.exception in ("OperationalError", "ProgrammingError")
