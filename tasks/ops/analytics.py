"""ops.analytics: one day's aggregates (UTC midnight to midnight) stored as that day's snapshot.

The snapshot holds: contacts total and new; interactions by kind and direction; meetings;
notifications sent and failed; alerts by severity; integrations ok, broken or unchecked by their
last health check of the day; the average relationship score. There is one row per day:
computing a day again replaces its numbers when the data changed and writes nothing when not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.data.transient import transient_database
from tasks.errors import PermanentError

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
VERSION = 1  # of the metrics document; bump it when its shape changes


def day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def parse_day(value: Any, *, now: datetime) -> date:
    """An ISO date ('2024-05-01'); None means yesterday in UTC."""
    if value is None:
        return (now.astimezone(UTC) - timedelta(days=1)).date()
    if not isinstance(value, str):
        raise PermanentError(f"day must be an ISO date string, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PermanentError(f"day {value!r} is not an ISO date (YYYY-MM-DD)") from None


def compute_metrics(
    conn: sa.Connection, day: date, progress: Progress | None = None
) -> dict[str, Any]:
    """The metrics document of `day`; its key order is fixed, so equal data gives equal JSON."""
    start, end = day_range(day)
    window = {"start": start, "end": end}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("contacts", lambda: store.contact_counts(conn, **window)),
        ("interactions", lambda: store.interaction_counts(conn, **window)),
        ("meetings", lambda: store.meeting_count(conn, **window)),
        ("notifications", lambda: store.notification_counts(conn, **window)),
        ("alerts", lambda: store.alert_counts(conn, **window)),
        ("integrations", lambda: store.integration_health(conn, **window)),
        ("average_score", lambda: store.average_score(conn, end=end)),
    ]
    metrics: dict[str, Any] = {"version": VERSION}
    for done, (name, compute) in enumerate(steps, 1):
        metrics[name] = compute()
        if progress is not None:
            progress(done, len(steps))
    return metrics


def run_analytics(
    day: date, *, now: datetime | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Compute and store the snapshot of `day` in one transaction."""
    now = now or store.utcnow()
    if day >= now.astimezone(UTC).date() + timedelta(days=1):
        raise PermanentError(f"day {day.isoformat()} is in the future")
    with transient_database(), store.transaction() as conn:
        metrics = compute_metrics(conn, day, progress)
        changed = store.save_snapshot(conn, day=day, metrics=metrics, computed_at=now)
    log.info("analytics_snapshot", day=day.isoformat(), changed=changed,
             contacts=metrics["contacts"]["total"])
    return {"day": day.isoformat(), "changed": changed, "metrics": metrics}


@shared_task(name="ops.analytics", bind=True)
def analytics(self: Any, day: str | None = None) -> dict[str, Any]:
    """Aggregate one day (ISO date, default yesterday UTC); returns {day, changed, metrics}."""
    now = store.utcnow()
    return run_analytics(parse_day(day, now=now), now=now, progress=self.progress)
