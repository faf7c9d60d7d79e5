"""notifications.py: de-duplication within a window, delivery bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tasks import store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def queue(conn: sa.Connection, user_id: int, **kw: object) -> int | None:
    values = {"channel": "webhook", "payload": {"text": "hi"}, **kw}
    return store.queue_notification(conn, user_id=user_id, **values)  # type: ignore[arg-type]


def test_a_repeat_inside_the_window_is_dropped(conn: sa.Connection, user_id: int) -> None:
    first = queue(conn, user_id, dedup_key="meeting:7", window=HOUR, now=NOW)
    assert first is not None
    assert queue(conn, user_id, dedup_key="meeting:7", window=HOUR,
                 now=NOW + timedelta(minutes=59)) is None
    assert queue(conn, user_id, dedup_key="meeting:7", window=HOUR, channel="email",
                 now=NOW) is not None  # another channel is another notification


def test_after_the_window_the_same_key_is_delivered_again(
    conn: sa.Connection, user_id: int
) -> None:
    first = queue(conn, user_id, dedup_key="k", window=HOUR, now=NOW)
    assert first is not None
    assert store.mark_notification_delivered(conn, first, now=NOW)
    again = queue(conn, user_id, dedup_key="k", window=HOUR, payload={"text": "again"},
                  now=NOW + 2 * HOUR)
    assert again == first  # the row is re-armed, not duplicated
    row = store.get_notification(conn, first)
    assert row is not None
    assert (row.status, row.attempts, row.payload, row.delivered_at) == (
        "pending", 0, {"text": "again"}, None)


def test_without_a_window_a_key_is_delivered_once_ever(conn: sa.Connection, user_id: int) -> None:
    assert queue(conn, user_id, dedup_key="welcome", now=NOW) is not None
    assert queue(conn, user_id, dedup_key="welcome", now=NOW + 1000 * HOUR) is None


def test_without_a_key_nothing_is_deduplicated(conn: sa.Connection, user_id: int) -> None:
    assert queue(conn, user_id) != queue(conn, user_id)


def test_delivery_bookkeeping(conn: sa.Connection, user_id: int) -> None:
    a = queue(conn, user_id) or 0
    b = queue(conn, user_id, channel="email") or 0
    assert [n.id for n in store.pending_notifications(conn)] == [a, b]
    assert [n.id for n in store.pending_notifications(conn, channel="email")] == [b]

    assert store.mark_notification_failed(conn, a, error="HTTP 503")
    row = store.get_notification(conn, a)
    assert row is not None
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 503")
    assert store.mark_notification_delivered(conn, a, now=NOW)
    assert not store.mark_notification_delivered(conn, a, now=NOW)  # already delivered
    row = store.get_notification(conn, a)
    assert row is not None
    assert (row.status, row.attempts, row.last_error, row.delivered_at) == (
        "delivered", 2, None, NOW)

    assert store.mark_notification_failed(conn, b, error="SMTP 550", final=True)
    assert not store.mark_notification_failed(conn, b, error="again")
    assert store.pending_notifications(conn) == []
