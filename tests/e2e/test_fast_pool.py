"""Pools of several solo processes on air's fetch script: nothing lost, limits, priorities."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
import redis
from celery.exceptions import TimeLimitExceeded

from runtime.broker.deadletter import DeadLetterStore
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

VISIBILITY = 4  # seconds: short, so redelivery after a crash is quick to see


def _fast_config(platform: Platform, **pool: Any) -> dict[str, Any]:
    config = queues_config(platform.redis_url)
    config["broker"]["visibility_timeout"] = f"{VISIBILITY}s"
    config["defaults"]["time_limit"] = {"soft": "2s", "hard": "3s"}
    config["pools"]["default"] = {
        "queues": ["default"],
        "concurrency": 2,
        "processes": 2,
        "pool": "solo",
        **pool,
    }
    return config


def _ran(client: redis.Redis, key: str) -> list[str]:
    return [e["tag"] for e in events(client, key)]


def test_a_pool_runs_its_processes_each_with_its_own_node_name(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(_fast_config(platform))
    platform.start_pool("default")  # waits until default.1 and default.2 answer ping
    app = platform.app()
    results = [app.send_task("sample.echo", args=[i]) for i in range(40)]
    workers = {r.get(timeout=30)["worker"] for r in results}
    assert workers <= set(platform.nodenames("default")) and len(workers) >= 1


def test_an_acknowledgement_reaches_redis_when_the_worker_goes_idle(
    platform: Platform, redis_client: redis.Redis
) -> None:
    """Acks ride on the next fetch; with no next fetch a timer sends them within 0.1 s. One
    left behind would be delivered again after the visibility timeout."""
    platform.write(_fast_config(platform))
    platform.start_pool("default")
    app = platform.app()
    assert app.send_task("sample.record", args=["once"]).get(timeout=20) == "once"

    wait_until(lambda: redis_client.hlen("unacked") == 0, timeout=2, message="the ack")
    assert redis_client.zcard("unacked_index") == 0
    time.sleep(VISIBILITY + 2)  # past the visibility timeout and a restore sweep
    assert _ran(redis_client, "record") == ["once"]


def test_a_warm_shutdown_sends_the_pending_acknowledgements(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(_fast_config(platform))
    worker = platform.start_pool("default")
    app = platform.app()
    for result in [app.send_task("sample.record", args=[f"t{i}"]) for i in range(20)]:
        result.get(timeout=20)
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(30) == 0
    assert redis_client.hlen("unacked") == 0 and redis_client.zcard("unacked_index") == 0


def test_killing_one_process_mid_task_loses_nothing(
    platform: Platform, redis_client: redis.Redis
) -> None:
    """The task of a SIGKILLed solo process comes back after the visibility timeout and
    completes; the pool restarts the process and keeps working meanwhile."""
    platform.write(_fast_config(platform))
    platform.start_pool("default")
    app = platform.app()
    result = app.send_task("sample.slow", args=["one", 1.5])
    first = wait_until(lambda: events(redis_client, "one"), message="the task to start")[0]
    os.kill(first["pid"], signal.SIGKILL)  # the solo process running it

    assert app.send_task("sample.echo", args=["meanwhile"]).get(timeout=20)["value"]
    assert result.get(timeout=VISIBILITY + 25) == "done on attempt 2"
    assert [e["done"] for e in events(redis_client, "one") if "done" in e] == [2]


def test_killing_the_whole_pool_under_a_backlog_loses_nothing(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(_fast_config(platform))
    worker = platform.start_pool("default")
    app = platform.app()
    tags = [f"b{i}" for i in range(300)]
    for tag in tags:
        app.send_task("sample.record", args=[tag, 0.005], ignore_result=True)
    wait_until(lambda: len(_ran(redis_client, "record")) >= 50, message="a part of the backlog")
    os.killpg(worker.pid, signal.SIGKILL)  # `air run`; its processes die with it
    worker.wait()

    platform.start_pool("default")
    wait_until(
        lambda: set(_ran(redis_client, "record")) == set(tags),
        timeout=VISIBILITY + 40,
        message="every task of the backlog to run",
    )
    ran = _ran(redis_client, "record")
    assert len(ran) - len(tags) <= 4  # at most the tasks in flight ran twice


def test_soft_and_hard_time_limits_hold_and_the_process_carries_on(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = _fast_config(platform, processes=1, concurrency=1)
    config["tasks"]["sample.soft_limited"] = {"time_limit": {"soft": "0.5s", "hard": "2s"}}
    config["tasks"]["sample.hang"] = {"time_limit": {"soft": "0.5s", "hard": "1s"}}
    platform.write(config)
    platform.start_pool("default")
    app = platform.app()

    soft = app.send_task("sample.soft_limited", args=["soft", 3.0])
    assert soft.get(timeout=20) == "cleaned up after the soft limit"
    hung = app.send_task("sample.hang", args=["hang", 30.0])
    with pytest.raises(TimeLimitExceeded):
        hung.get(timeout=20)
    assert app.send_task("sample.echo", args=["after"]).get(timeout=20)["value"] == "after"
    # The same process ran the hung task and the next one: stopped in the task, not replaced.
    assert events(redis_client, "hang")[0]["pid"] == events(redis_client, "echo")[0]["pid"]
    letter = wait_until(
        lambda: DeadLetterStore.from_url(platform.redis_url).get(hung.id), message="dead letter"
    )
    assert letter.reason == "timeout"


def test_max_tasks_per_child_replaces_the_process(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(_fast_config(platform, processes=1, concurrency=1, max_tasks_per_child=2))
    platform.start_pool("default")
    app = platform.app()
    for i in range(4):
        assert app.send_task("sample.record", args=[f"r{i}"]).get(timeout=30) == f"r{i}"
    pids = [e["pid"] for e in events(redis_client, "record")]
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[1] != pids[2]


def test_a_revoked_task_does_not_run(platform: Platform, redis_client: redis.Redis) -> None:
    platform.write(_fast_config(platform, processes=1, concurrency=1))
    platform.start_pool("default")
    app = platform.app()
    blocker = app.send_task("sample.record", args=["blocker", 1.0])
    wait_until(lambda: _ran(redis_client, "record"), message="the blocker to start")
    doomed = app.send_task("sample.record", args=["doomed"])
    app.control.revoke(doomed.id)
    after = app.send_task("sample.record", args=["after"])
    assert blocker.get(timeout=20) == "blocker" and after.get(timeout=20) == "after"
    assert _ran(redis_client, "record") == ["blocker", "after"]


def test_priority_beats_queue_order_across_processes(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["pools"] = {
        "mixed": {
            "queues": ["bulk", "urgent", "default"],
            "concurrency": 2,
            "processes": 2,
            "pool": "solo",
        }
    }
    config["tasks"]["sample.record"] = {"queue": "bulk"}
    config["tasks"]["sample.echo"] = {"queue": "urgent"}
    platform.write(config)
    platform.start_pool("mixed")
    app = platform.app()
    # Long enough for every send below to reach Redis first, even on a loaded machine.
    blockers = [app.send_task("sample.record", args=[f"blocker-{i}", 3.0]) for i in range(2)]
    wait_until(lambda: len(_ran(redis_client, "record")) == 2, message="both blockers to start")
    backlog = [app.send_task("sample.record", args=[f"low-{i}"]) for i in range(20)]
    urgent = [app.send_task("sample.echo", args=[f"urgent-{i}"]) for i in range(3)]
    for result in [*blockers, *backlog, *urgent]:
        result.get(timeout=30)

    starts = sorted(
        [(e["at"], e["pid"], e["tag"]) for e in events(redis_client, "record")]
        + [(e["at"], e["pid"], e["value"]) for e in events(redis_client, "echo")]
    )
    assert sorted(tag for _, _, tag in starts[:2]) == ["blocker-0", "blocker-1"]
    # Start times of two processes are not fetch order: one may fetch the last urgent task
    # and start it a moment after the other fetched (later) and started a low one. Within
    # one process start order is fetch order, so each must run its urgent tasks before any
    # low one; a fetch that ignored priority runs the 20 older low tasks first in both.
    by_process: dict[int, list[str]] = {}
    for _, pid, tag in starts[2:]:
        by_process.setdefault(pid, []).append(tag)
    for tags in by_process.values():
        kinds = [tag.split("-")[0] for tag in tags]
        assert kinds == sorted(kinds, key=["urgent", "low"].index), by_process
    assert sorted(tag for tags in by_process.values() for tag in tags) == sorted(
        [f"low-{i}" for i in range(20)] + [f"urgent-{i}" for i in range(3)]
    )


def test_an_at_most_once_queue_never_runs_a_task_twice(
    platform: Platform, redis_client: redis.Redis
) -> None:
    """`delivery: at_most_once`: out of Redis when fetched, so a process killed mid-task loses
    the task (by design) and nothing comes back after the visibility timeout."""
    config = _fast_config(platform)
    config["queues"]["fire"] = {"priority": 5, "delivery": "at_most_once"}
    config["pools"]["default"]["queues"] = ["default", "fire"]
    config["tasks"]["sample.slow"] = {"queue": "fire"}
    platform.write(config)
    platform.start_pool("default")
    app = platform.app()
    app.send_task("sample.slow", args=["lossy", 1.5])
    first = wait_until(lambda: events(redis_client, "lossy"), message="the task to start")[0]
    assert redis_client.hlen("unacked") == 0  # never recorded as unacknowledged
    os.kill(first["pid"], signal.SIGKILL)

    assert app.send_task("sample.echo", args=["after"]).get(timeout=20)["value"] == "after"
    time.sleep(VISIBILITY + 2)  # past the visibility timeout and a restore sweep
    assert [e["attempt"] for e in events(redis_client, "lossy") if "attempt" in e] == [1]
