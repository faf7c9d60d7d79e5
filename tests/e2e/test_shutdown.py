"""Stopping `air up` is a warm shutdown: running tasks finish within --grace; a task that
outlasts it is cancelled and goes back to its queue, never lost."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from runtime.broker.deadletter import DeadLetterStore
from runtime.broker.queues import read_queues
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

EVERY_HOUR = {"version": 1, "schedules": {"hourly": {"task": "sample.echo", "every": "1h"}}}


@pytest.fixture
def client(crashable_platform: Platform) -> Iterator[redis.Redis]:
    """A client of the test's own redis-server, where `air up` runs."""
    connection = redis.Redis.from_url(crashable_platform.redis_url)
    yield connection
    connection.close()


def start_up(platform: Platform, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`air up` in a session of its own, as a terminal's foreground job would be; its output
    goes to the returned log file."""
    platform.write(queues_config(platform.redis_url), EVERY_HOUR)
    up = platform.air("up", *args)
    return up, platform.processes[-1][1]


def started(redis_client: Any, key: str) -> list[dict[str, Any]]:
    return wait_until(lambda: events(redis_client, key), timeout=60, message="the task to start")


def stop(up: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    try:
        up.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    return log.read_text(errors="replace")


def test_sigterm_lets_a_running_task_finish(
    crashable_platform: Platform, client: redis.Redis
) -> None:
    platform = crashable_platform
    up, log = start_up(platform, "--grace", "20", "--pools", "default")
    platform.wait_ready("default", timeout=60)
    descendants = psutil.Process(up.pid).children(recursive=True)
    result = platform.app().send_task("sample.slow", args=["warm", 4.0])
    started(client, "warm")

    up.send_signal(signal.SIGTERM)  # as `docker stop` or Kubernetes would
    output = stop(up, log, timeout=40)

    assert up.returncode == 0, output
    assert result.get(timeout=10) == "done on attempt 1"
    assert result.state == "SUCCESS"
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0
    assert "warm shutdown" in output and "cut short" not in output, output
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [p.cmdline() for p in alive]  # beat and the pool processes too


@pytest.mark.parametrize(
    ("grace", "presses"),
    [("2", 1), ("120", 2)],
    ids=["grace-runs-out", "second-ctrl-c"],
)
def test_a_task_cut_short_goes_back_to_its_queue(
    crashable_platform: Platform, client: redis.Redis, grace: str, presses: int
) -> None:
    platform = crashable_platform
    up, log = start_up(platform, "--grace", grace, "--pools", "default")
    platform.wait_ready("default", timeout=60)
    result = platform.app().send_task("sample.slow", args=["long", 15.0])
    started(client, "long")

    os.killpg(up.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    if presses == 2:  # once the first has been seen: two at once may arrive as one
        wait_until(lambda: "warm shutdown" in log.read_text(), message="the warm shutdown")
        os.killpg(up.pid, signal.SIGINT)
    output = stop(up, log, timeout=40)  # far less than a 120 s grace

    assert up.returncode == 0, output
    assert "cut short (cold shutdown): default" in output, output
    # Back on its queue at once (the visibility timeout is an hour).
    assert read_queues(client, ["default"])[0].depth == 1
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0

    platform.start_pool("default", timeout=60)  # the next worker runs it to the end
    assert result.get(timeout=40) == "done on attempt 2"
