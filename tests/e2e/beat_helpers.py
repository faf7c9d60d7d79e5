"""What beat tests read back: the fire time of every message waiting in a queue, and beat's
own counters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis

from runtime.broker.fires import Fires
from runtime.sending.beat import FIRE_HEADER
from tests.e2e.conftest import events
from tests.waiting import wait_until


def schedules(**entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "timezone": "UTC", "schedules": entries}


def queued_fires(client: redis.Redis, queue: str, task: str | None = None) -> list[datetime]:
    """Fire times of the messages on `queue` (every priority level), oldest first, duplicates
    kept: nothing consumes them, so this is exactly what the beats sent."""
    fires = []
    for key in client.scan_iter(match=f"{queue}*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            headers = json.loads(raw)["headers"]
            if task is None or headers["task"] == task:
                fires.append(datetime.fromisoformat(headers[FIRE_HEADER]))
    return sorted(fires)


def figures(fires: list[datetime], period: float) -> dict[str, int]:
    """Sent, duplicated and lost fires of one `every` schedule: a lost fire is a hole in the
    otherwise regular sequence between the first and the last fire sent."""
    unique = sorted(set(fires))
    expected = round((unique[-1] - unique[0]).total_seconds() / period) + 1 if unique else 0
    return {
        "sent": len(fires),
        "duplicated": len(fires) - len(unique),
        "lost": expected - len(unique),
    }


def sent(client: redis.Redis, schedule: str) -> int:
    return Fires(client).stats().get(schedule, {}).get("sent", 0)


def assert_runs_never_overlapped(client: redis.Redis, name: str = "busy") -> None:
    """Wait for two completed runs of the `sample.busy`-style task; each run started only
    after the one before it had ended."""
    wait_until(
        lambda: sum(1 for e in events(client, name) if "done" in e) >= 2,
        timeout=40,
        message="two completed runs",
    )
    runs = events(client, name)
    starts = [e["at"] for e in runs if "attempt" in e]
    ends = [e["at"] for e in runs if "done" in e]
    for start, previous_end in zip(starts[1:], ends, strict=False):
        assert start >= previous_end, runs
