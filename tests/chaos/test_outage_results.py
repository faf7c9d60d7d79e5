"""A result backend outage under a finishing task: no false failure, no second run.

The result write of a task whose body ends while the result backend's Redis is down goes to
the worker's spool (runtime/broker/result_backend.py) instead of retrying into the task's hard
time limit, where the pool parent would kill the process and record FAILURE and a `timeout`
dead letter; it is stored once Redis is back: SUCCESS, no dead letter, one run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from runtime.broker.deadletter import DeadLetterStore
from runtime.process.embedded import free_port
from tests.chaos.conftest import DurableRedis
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(90)]


def runs(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_result_written_during_an_outage_longer_than_the_hard_limit_ends_success(
    durable_platform: Platform, tmp_path: Path
) -> None:
    platform = durable_platform
    results = DurableRedis(free_port(), tmp_path / "results", persistent=True)
    results.start()
    try:
        config = queues_config(platform.redis_url)
        config["broker"].update(visibility_timeout="8s", result_backend=f"{results.url}/0")
        config["defaults"]["time_limit"] = {"soft": "2s", "hard": "3s"}
        platform.write(config)
        platform.start_pool("default")
        counter = tmp_path / "runs"
        spool = tmp_path / "state" / "spool"

        result = platform.app().send_task("sample.counted", args=[str(counter), 1.0])
        wait_until(lambda: runs(counter), timeout=20, message="the task to start")
        results.kill()  # the body ends, and its result is written, while the backend is down
        time.sleep(5)  # longer than the hard limit
        spooled = len(list(spool.glob("*.json")))
        assert spooled, platform.logs()
        results.start()
        back = time.monotonic()

        assert result.get(timeout=30) == "counted"
        stored_after = time.monotonic() - back
        time.sleep(9)  # past the visibility timeout: an unacknowledged message is back by now
        assert result.state == "SUCCESS"
        assert runs(counter) == [result.id]
        assert DeadLetterStore(redis.Redis.from_url(platform.redis_url)).count() == 0
        assert not list(spool.glob("*.json"))
        print(
            f"chaos result-backend outage 5 s (hard limit 3 s): runs 1, state SUCCESS, "
            f"dead letters 0, spooled {spooled}, stored {stored_after:.1f} s after its return"
        )
    finally:
        results.stop()


def test_a_task_that_finished_during_a_broker_outage_is_not_run_again(
    durable_platform: Platform, tmp_path: Path
) -> None:
    """No stored result (`result: on_request`); the acknowledgement is lost with the connection
    and the outage outlasts the visibility timeout: the re-sent acknowledgement and the
    completion marker (runtime/broker/fetch.py) keep the redelivered message from running."""
    platform, broker = durable_platform, durable_platform.broker
    assert broker is not None
    config = queues_config(platform.redis_url)
    config["broker"]["visibility_timeout"] = "4s"
    config["defaults"].update(result="on_request", time_limit={"soft": "2s", "hard": "3s"})
    config["pools"]["default"].update(pool="solo", concurrency=1)  # busy until the body ends
    platform.write(config)
    platform.start_pool("default")
    counter = tmp_path / "runs"

    sent = platform.app().send_task("sample.counted", args=[str(counter), 1.0])
    wait_until(lambda: runs(counter), timeout=20, message="the task to start")
    broker.kill()  # the body ends, and its acknowledgement is lost, while Redis is down
    time.sleep(6)  # longer than the visibility timeout
    broker.start()

    client = redis.Redis.from_url(platform.redis_url)
    wait_until(lambda: client.exists(f"air:done:{sent.id}"), timeout=20, message="the marker")
    time.sleep(6)  # past the visibility timeout and a restore sweep
    assert runs(counter) == [sent.id], platform.logs()
    assert client.zcard("unacked_index") == 0 and client.llen("default") == 0
    print("chaos broker outage 6 s (visibility timeout 4 s), no stored result: runs 1")
