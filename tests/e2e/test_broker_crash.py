"""A broker crash while a task runs: the worker survives, reconnects and takes new work.

kombu 5.7's Redis transport raises AttributeError when Celery closes the channel of a lost
connection with unacknowledged messages, and Celery exits on it ("Unrecoverable error");
runtime/transport.py turns that into the connection error the close path ignores.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from runtime.embedded import RedisServer
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_a_broker_crash_under_a_running_task_does_not_kill_the_worker(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    url = f"{own_redis.url}/0"
    platform = Platform(tmp_path, url)
    platform.write(queues_config(url))
    try:
        worker = platform.start_pool("default")
        platform.app().send_task("sample.slow", args=["crash", 3.0])
        client = redis.Redis.from_url(url)
        wait_until(lambda: events(client, "crash"), timeout=10, message="the task to start")
        client.close()

        own_redis.kill()  # the task is running and unacknowledged
        own_redis.start()

        result = platform.app().send_task("sample.echo", args=["after"])
        assert result.get(timeout=60)["value"] == "after"
        assert worker.poll() is None, platform.logs()
    finally:
        platform.stop_all()
