"""Stopping `air up` is a warm shutdown: running tasks finish within --grace; a task that
outlasts it is cancelled and goes back to its queue, never lost."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import redis

from runtime.broker.deadletter import DeadLetterStore
from runtime.broker.queues import read_queues
from tests.e2e.conftest import AIR, Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

EVERY_HOUR = {"version": 1, "schedules": {"hourly": {"task": "sample.echo", "every": "1h"}}}


@pytest.fixture
def client(crashable_platform: Platform) -> Iterator[redis.Redis]:
    """A client of the test's own redis-server, where `air up` runs."""
    connection = redis.Redis.from_url(crashable_platform.redis_url)
    yield connection
    connection.close()


def start_up(platform: Platform, *args: str) -> subprocess.Popen[str]:
    """`air up` in a session of its own, as a terminal's foreground job would be."""
    platform.write(queues_config(platform.redis_url), EVERY_HOUR)
    return subprocess.Popen(
        [AIR, "up", *args],
        cwd=platform.root,
        env=platform.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def started(redis_client: Any, key: str) -> list[dict[str, Any]]:
    return wait_until(lambda: events(redis_client, key), timeout=60, message="the task to start")


def stop(up: subprocess.Popen[str], timeout: float) -> str:
    try:
        return up.communicate(timeout=timeout)[0]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def test_sigterm_lets_a_running_task_finish(
    crashable_platform: Platform, client: redis.Redis
) -> None:
    platform = crashable_platform
    up = start_up(platform, "--grace", "20", "--pools", "default")
    platform.wait_ready("default", timeout=60)
    descendants = psutil.Process(up.pid).children(recursive=True)
    result = platform.app().send_task("sample.slow", args=["warm", 4.0])
    started(client, "warm")

    up.send_signal(signal.SIGTERM)  # as `docker stop` or Kubernetes would
    output = stop(up, timeout=40)

    assert up.returncode == 0, output
    assert result.get(timeout=10) == "done on attempt 1"
    assert result.state == "SUCCESS"
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0
    assert "warm shutdown" in output and "cut short" not in output, output
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [p.cmdline() for p in alive]  # beat and the pool processes too


def test_a_task_longer_than_the_grace_goes_back_to_its_queue(
    crashable_platform: Platform, client: redis.Redis
) -> None:
    platform = crashable_platform
    up = start_up(platform, "--grace", "2", "--pools", "default")
    platform.wait_ready("default", timeout=60)
    result = platform.app().send_task("sample.slow", args=["long", 15.0])
    started(client, "long")

    os.killpg(up.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    output = stop(up, timeout=40)

    assert up.returncode == 0, output
    assert "cut short (cold shutdown): default" in output, output
    # Back on its queue at once (the visibility timeout is an hour).
    assert read_queues(client, ["default"])[0].depth == 1
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0

    platform.start_pool("default", timeout=60)  # the next worker runs it to the end
    assert result.get(timeout=40) == "done on attempt 2"
