"""alerts.py: de-duplicated alerts with a delivery status per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tasks import store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


def test_an_alert_is_pending_on_each_channel(conn: sa.Connection) -> None:
    alert = store.raise_alert(conn, severity="critical", title="Integration 3 broken",
                              body="invalid_grant", channels=["webhook", "log", "webhook"])
    assert alert is not None
    assert store.alert_status(conn, alert) == {"log": "pending", "webhook": "pending"}
    row = store.get_alert(conn, alert)
    assert row is not None
    assert (row.severity, row.title, row.body) == ("critical", "Integration 3 broken",
                                                   "invalid_grant")


def test_repeats_are_dropped_inside_the_window_and_rearmed_after(conn: sa.Connection) -> None:
    args = {"severity": "critical", "title": "down", "channels": ["webhook", "email"],
            "dedup_key": "integration:3:broken", "window": WINDOW}
    alert = store.raise_alert(conn, **args, now=NOW)  # type: ignore[arg-type]
    assert alert is not None
    store.mark_alert_delivered(conn, alert, "webhook")
    store.mark_alert_failed(conn, alert, "email", error="refused", final=True)
    assert store.raise_alert(conn, **args, now=NOW + WINDOW / 2) is None  # type: ignore[arg-type]
    assert store.alert_status(conn, alert) == {"email": "failed", "webhook": "delivered"}
    again = store.raise_alert(conn, **args, now=NOW + 2 * WINDOW)  # type: ignore[arg-type]
    assert again == alert
    assert store.alert_status(conn, alert) == {"email": "pending", "webhook": "pending"}


def test_without_a_window_an_alert_key_fires_once(conn: sa.Connection) -> None:
    args = {"severity": "warning", "title": "disk", "channels": ["log"], "dedup_key": "disk"}
    assert store.raise_alert(conn, **args) is not None  # type: ignore[arg-type]
    assert store.raise_alert(conn, **args) is None  # type: ignore[arg-type]


def test_pending_deliveries_most_severe_first(conn: sa.Connection) -> None:
    info = store.raise_alert(conn, severity="info", title="i", channels=["log"])
    crit = store.raise_alert(conn, severity="critical", title="c", channels=["log", "webhook"])
    warn = store.raise_alert(conn, severity="warning", title="w", channels=["log"])
    pending = store.pending_alert_deliveries(conn)
    assert [(p.alert_id, p.channel) for p in pending] == [
        (crit, "log"), (crit, "webhook"), (warn, "log"), (info, "log")]
    assert [p.alert_id for p in store.pending_alert_deliveries(conn, channel="webhook")] == [crit]
    assert store.mark_alert_failed(conn, crit or 0, "webhook", error="timeout")
    retry = store.pending_alert_deliveries(conn, channel="webhook")
    assert [(p.alert_id, p.attempts) for p in retry] == [(crit, 1)]
    assert store.mark_alert_delivered(conn, crit or 0, "webhook")
    assert not store.mark_alert_delivered(conn, crit or 0, "webhook")


def test_unknown_severity_is_refused(conn: sa.Connection) -> None:
    with pytest.raises(ValueError, match="severity"):
        store.raise_alert(conn, severity="panic", title="x", channels=[])
