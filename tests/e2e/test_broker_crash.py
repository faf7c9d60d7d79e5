"""A broker crash while a task runs: the worker survives, reconnects and takes new work.

kombu 5.7's Redis transport raises AttributeError when Celery closes the channel of a lost
connection with unacknowledged messages, and Celery exits on it ("Unrecoverable error");
runtime/broker/transport.py turns that into the connection error the close path ignores.
"""

from __future__ import annotations

import pytest
import redis

from tests.e2e.conftest import Platform, events
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_a_broker_crash_under_a_running_task_does_not_kill_the_worker(
    crashable_platform: Platform,
) -> None:
    platform, broker = crashable_platform, crashable_platform.broker
    assert broker is not None
    worker = platform.start_pool("default")
    platform.app().send_task("sample.slow", args=["crash", 3.0])
    client = redis.Redis.from_url(platform.redis_url)
    wait_until(lambda: events(client, "crash"), timeout=10, message="the task to start")
    client.close()

    broker.kill()  # the task is running and unacknowledged
    broker.start()

    result = platform.app().send_task("sample.echo", args=["after"])
    assert result.get(timeout=60)["value"] == "after"
    assert worker.poll() is None, platform.logs()
