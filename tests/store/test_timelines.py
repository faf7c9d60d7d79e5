"""interactions.contact_timelines: each contact's interactions, oldest first, for a page of ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def test_timelines_are_per_contact_and_in_time_order(
    conn: sa.Connection, user_id: int, contact_id: int
) -> None:
    other = store.upsert_contact(conn, user_id=user_id, email="bob@globex.example")
    quiet = store.upsert_contact(conn, user_id=user_id, email="quiet@globex.example")
    late = store.record_interaction(conn, contact_id=contact_id, kind="email", direction="in",
                                    occurred_at=T0 + timedelta(days=2))
    early = store.record_interaction(conn, contact_id=contact_id, kind="call", occurred_at=T0)
    tie = store.record_interaction(conn, contact_id=contact_id, kind="email", direction="out",
                                   occurred_at=T0)
    bobs = store.record_interaction(conn, contact_id=other, kind="meeting", occurred_at=T0)
    found = store.contact_timelines(conn, [contact_id, quiet, contact_id])
    assert list(found) == [contact_id, quiet]  # each id once; `other` was not asked for
    assert [row.id for row in found[contact_id]] == [early, tie, late]  # ties by id
    assert [(row.direction, row.kind) for row in found[contact_id]] == [
        (None, "call"), ("out", "email"), ("in", "email")]
    assert found[quiet] == []
    assert [row.id for row in store.contact_timelines(conn, [other])[other]] == [bobs]
