"""aggregates.py: counts over [start, end), zeros included, fixed key order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

START = datetime(2024, 5, 1, tzinfo=UTC)
END = START + timedelta(days=1)
RANGE = {"start": START, "end": END}


def test_empty_range(conn: sa.Connection) -> None:
    assert store.contact_counts(conn, **RANGE) == {"total": 0, "new": 0}
    counts = store.interaction_counts(conn, **RANGE)
    assert list(counts) == ["email", "meeting", "call", "message"]
    assert counts["email"] == {"in": 0, "out": 0, "none": 0}
    assert store.meeting_count(conn, **RANGE) == 0
    assert store.notification_counts(conn, **RANGE) == {"sent": 0, "failed": 0}
    assert store.alert_counts(conn, **RANGE) == {"info": 0, "warning": 0, "critical": 0}
    assert store.integration_health(conn, **RANGE) == {"ok": 0, "broken": 0, "unchecked": 0}
    assert store.average_score(conn, end=END) is None


def test_ranges_are_half_open(conn: sa.Connection, contact_id: int, integration_id: int) -> None:
    for at in (START - timedelta(microseconds=1), START, END - timedelta(seconds=1), END):
        store.record_interaction(conn, contact_id=contact_id, kind="email", direction="out",
                                 occurred_at=at)
        store.raise_alert(conn, severity="critical", title="t", channels=[], now=at)
    assert store.interaction_counts(conn, **RANGE)["email"]["out"] == 2
    assert store.alert_counts(conn, **RANGE)["critical"] == 2


def test_integration_health_takes_the_last_check_of_the_range(
    conn: sa.Connection, integration_id: int
) -> None:
    store.record_health_check(conn, integration_id, status="broken", checked_at=START)
    store.record_health_check(conn, integration_id, status="ok",
                              checked_at=START + timedelta(hours=5))
    store.record_health_check(conn, integration_id, status="broken", checked_at=END)
    end = store.utcnow() + timedelta(days=1)  # the integration was created just now
    start = end - timedelta(days=2000)
    assert store.integration_health(conn, start=start, end=END + timedelta(hours=1)) == {
        "ok": 0, "broken": 0, "unchecked": 0}  # created after that range ended
    assert store.integration_health(conn, start=start, end=end)["broken"] == 1


def test_average_score_rounds_and_skips_merged(conn: sa.Connection, user_id: int) -> None:
    ids = [store.upsert_contact(conn, user_id=user_id, email=f"s{n}@x.example")
           for n in range(3)]
    for contact_id, score in zip(ids, (0.1, 0.2, 0.25), strict=True):
        store.save_score(conn, contact_id=contact_id, score=score, recency=0, frequency=0,
                         computed_at=START)
    assert store.average_score(conn, end=END) == round((0.1 + 0.2 + 0.25) / 3, 4)
    store.merge_contacts(conn, keep_id=ids[0], drop_id=ids[2])
    assert store.average_score(conn, end=END) == 0.15
    assert store.average_score(conn, end=START) is None
