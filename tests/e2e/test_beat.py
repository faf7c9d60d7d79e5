"""`air beat` sends scheduled tasks on time, on the configured queue, honouring overlap."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tests.e2e.beat_helpers import assert_runs_never_overlapped
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _schedules(**entries: dict) -> dict:
    return {"version": 1, "timezone": "UTC", "schedules": entries}


def test_every_schedule_fires_on_time_on_its_queue(platform: Platform, redis_client) -> None:
    # sample.echo routes to 'default'; the schedule overrides the queue with 'bulk'.
    platform.write(
        queues_config(platform.redis_url),
        _schedules(tick={"task": "sample.echo", "every": "1s", "args": ["tick"], "queue": "bulk"}),
    )
    platform.start_pool("bulk")
    platform.start_pool("default")
    platform.air("beat")

    fired = wait_until(
        lambda: (e := events(redis_client, "echo")) and len(e) >= 4 and e,
        timeout=30,
        message="four runs of the schedule",
    )
    assert {e["queue"] for e in fired} == {"bulk"}
    gaps = [b["at"] - a["at"] for a, b in zip(fired, fired[1:], strict=False)]
    assert all(0.7 <= gap <= 1.6 for gap in gaps), gaps


def test_overlap_skip_never_starts_a_run_while_the_last_one_runs(
    platform: Platform, redis_client
) -> None:
    platform.write(
        queues_config(platform.redis_url),
        _schedules(
            busy={"task": "sample.slow", "every": "1s", "args": ["busy", 2.5], "overlap": "skip"}
        ),
    )
    platform.start_pool("default")  # two processes: overlapping runs would be possible
    platform.air("beat")

    assert_runs_never_overlapped(redis_client)


def test_a_schedule_of_a_unique_task_still_queued_skips_its_fires_and_beat_goes_on(
    platform: Platform, redis_client
) -> None:
    """The shipped token-refresh case: a unique task sent by hand (or a last fire) is still
    queued when the schedule fires. Each fire is skipped as an overlap; beat keeps running
    (it used to die on the send that the unique guard turned into a no-op)."""
    from runtime.broker.fires import Fires

    queues = queues_config(platform.redis_url)
    queues["tasks"]["sample.echo"] = {"queue": "default", "unique": {"for": "1m", "key": []}}
    platform.write(queues, _schedules(tick={"task": "sample.echo", "every": "1s"}))
    held = platform.app().send_task("sample.echo", args=["by hand"])  # no worker: it waits
    beat = platform.air("beat")

    wait_until(
        lambda: Fires(redis_client).stats().get("tick", {}).get("overlap", 0) >= 2,
        timeout=30,
        message="two fires skipped",
    )
    assert beat.poll() is None
    assert Fires(redis_client).stats()["tick"]["sent"] == 0
    assert redis_client.get(next(redis_client.scan_iter(match="air:unique:*"))) == held.id.encode()


@pytest.mark.slow
def test_cron_schedule_fires_at_the_minute(platform: Platform, redis_client) -> None:
    platform.write(
        queues_config(platform.redis_url),
        _schedules(minute={"task": "sample.echo", "cron": "* * * * *", "args": ["minute"]}),
    )
    platform.start_pool("default")
    platform.air("beat")

    fired = wait_until(
        lambda: events(redis_client, "echo"),
        timeout=75,
        interval=0.2,
        message="the next minute's run",
    )
    at = datetime.fromtimestamp(fired[0]["at"], UTC)
    assert at.second < 3, at  # beat sends at :00; the worker starts it within a moment
    assert time.time() - fired[0]["at"] < 60
