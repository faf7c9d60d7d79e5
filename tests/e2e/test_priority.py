"""Priority on Redis: urgent work starts before a backlog of less urgent work."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _mixed_pool(platform: Platform) -> None:
    """One process consuming both queues: order of starts is decided by priority alone."""
    config = queues_config(platform.redis_url)
    config["pools"] = {"mixed": {"queues": ["bulk", "urgent", "default"], "concurrency": 1}}
    config["tasks"]["sample.record"] = {"queue": "bulk"}
    config["tasks"]["sample.echo"] = {"queue": "urgent"}
    platform.write(config)
    platform.start_pool("mixed")


def test_urgent_tasks_sent_after_a_backlog_start_next(platform: Platform, redis_client) -> None:
    """Routing by task name alone: sample.record goes to 'bulk' (priority 1), sample.echo to
    'urgent' (priority 10). Urgent tasks sent after a backlog start before all of it."""
    _mixed_pool(platform)
    app = platform.app()
    blocker = app.send_task("sample.record", args=["blocker", 1.0])
    wait_until(lambda: events(redis_client, "record"), message="the blocker to start")
    backlog = [app.send_task("sample.record", args=[f"low-{i}"]) for i in range(20)]
    urgent = [app.send_task("sample.echo", args=[f"urgent-{i}"]) for i in range(3)]
    for result in [blocker, *backlog, *urgent]:
        result.get(timeout=30)

    starts = sorted(
        [(e["at"], e["tag"]) for e in events(redis_client, "record")]
        + [(e["at"], e["value"]) for e in events(redis_client, "echo")]
    )
    order = [tag for _, tag in starts]
    assert order[0] == "blocker"
    assert order[1:4] == ["urgent-0", "urgent-1", "urgent-2"], order
    assert order[4:] == [f"low-{i}" for i in range(20)]


def test_ten_priority_levels_are_distinct(platform: Platform, redis_client) -> None:
    """kombu's default steps fold priorities into 4 buckets; air's plan keeps all ten."""
    _mixed_pool(platform)
    app = platform.app()
    blocker = app.send_task("sample.record", args=["blocker", 1.0])
    wait_until(lambda: events(redis_client, "record"), message="the blocker to start")
    # Least urgent first, so FIFO order would be the exact reverse of priority order.
    sent = [
        app.send_task("sample.record", args=[f"p{p}"], queue="bulk", priority=10 - p)
        for p in range(1, 11)
    ]
    for result in [blocker, *sent]:
        result.get(timeout=30)

    order = [e["tag"] for e in events(redis_client, "record")][1:]
    assert order == [f"p{p}" for p in range(10, 0, -1)]
