"""What the AI tasks read: a contact's latest interactions, and interactions not analysed yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_recent_interactions_newest_first_limited_and_before(
    conn: sa.Connection, contact_id: int, user_id: int
) -> None:
    other = store.upsert_contact(conn, user_id=user_id, email="bob@x.example")
    ids = {days: store.record_interaction(conn, contact_id=contact_id, kind="email",
                                         occurred_at=T0 + timedelta(days=days), subject=str(days))
           for days in (3, 1, 2, 5)}
    store.record_interaction(conn, contact_id=other, kind="call", occurred_at=T0)
    same_time = store.record_interaction(conn, contact_id=contact_id, kind="call",
                                         occurred_at=T0 + timedelta(days=5))
    rows = store.recent_interactions(conn, contact_id=contact_id, limit=3)
    assert [r.id for r in rows] == [same_time, ids[5], ids[3]]  # ties: the later id first
    before = store.recent_interactions(conn, contact_id=contact_id, limit=10,
                                       before=T0 + timedelta(days=3))
    assert [r.subject for r in before] == ["2", "1"]
    assert store.recent_interactions(conn, contact_id=other, limit=0) == []


def test_interactions_without_analysis(conn: sa.Connection, contact_id: int) -> None:
    def record(**text: str) -> int:
        return store.record_interaction(conn, contact_id=contact_id, kind="email",
                                        occurred_at=T0, **text) or 0

    subject, body, blank, done = (record(subject="s"), record(body="b"), record(),
                                  record(body="x"))
    store.save_interaction_analysis(conn, interaction_id=done, kind="analysis", results={},
                                    provider="local")
    assert store.interactions_without_analysis(conn, kind="analysis", limit=10) == [subject,
                                                                                   body]
    assert blank not in store.interactions_without_analysis(conn, kind="other", limit=10)
    assert store.interactions_without_analysis(conn, kind="other", limit=10) == [subject, body,
                                                                                done]
    assert store.interactions_without_analysis(conn, kind="analysis", limit=1,
                                               after_id=subject) == [body]
