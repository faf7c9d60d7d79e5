"""Nothing is lost when worker processes die: tasks are redelivered and complete."""

from __future__ import annotations

import os
import signal

import pytest

from runtime.broker.deadletter import DeadLetterStore
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_killing_a_pool_process_mid_task_redelivers_it(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    # A prefork child: its parent sees it die and redelivers at once (a solo process's task
    # comes back after the visibility timeout: tests/e2e/test_fast_pool.py).
    config["pools"]["default"]["pool"] = "prefork"
    config["tasks"]["sample.slow"] = {"retry": {"max": 2, "initial": "0.2s"}}
    platform.write(config)
    platform.start_pool("default")

    result = platform.app().send_task("sample.slow", args=["child", 2.0])
    first = wait_until(lambda: events(redis_client, "child"), message="the task to start")[0]
    os.kill(first["pid"], signal.SIGKILL)  # the pool child running the task

    assert result.get(timeout=30) == "done on attempt 2"
    attempts = [e["attempt"] for e in events(redis_client, "child") if "attempt" in e]
    assert attempts == [1, 2]
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0


def test_lost_worker_past_its_retry_limit_is_dead_lettered(
    platform: Platform, redis_client
) -> None:
    config = queues_config(platform.redis_url)
    config["pools"]["default"]["pool"] = "prefork"
    config["tasks"]["sample.slow"] = {"retry": {"max": 0}}
    platform.write(config)
    platform.start_pool("default")

    result = platform.app().send_task("sample.slow", args=["lost", 5.0])
    first = wait_until(lambda: events(redis_client, "lost"), message="the task to start")[0]
    os.kill(first["pid"], signal.SIGKILL)

    store = DeadLetterStore.from_url(platform.redis_url)
    letter = wait_until(lambda: store.get(result.id), timeout=20, message="the dead letter")
    assert letter.reason == "worker-lost"
    assert [e.get("attempt") for e in events(redis_client, "lost")] == [1]


def test_killing_the_whole_worker_redelivers_after_the_visibility_timeout(
    platform: Platform, redis_client
) -> None:
    config = queues_config(platform.redis_url)
    config["broker"]["visibility_timeout"] = "6s"
    config["defaults"]["time_limit"] = {"soft": "4s", "hard": "5s"}
    platform.write(config)
    worker = platform.start_pool("default")

    result = platform.app().send_task("sample.slow", args=["whole", 3.0])
    wait_until(lambda: events(redis_client, "whole"), message="the task to start")
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and all its pool processes, no goodbye
    worker.wait()

    platform.start_pool("default")  # a fresh worker; the message is still unacknowledged
    assert result.get(timeout=40) == "done on attempt 2"
    done = [e["done"] for e in events(redis_client, "whole") if "done" in e]
    assert done == [2]
