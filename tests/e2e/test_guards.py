"""Cluster-wide rate limits, unique tasks and no second run of a task that already succeeded,
against real workers on a real Redis."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest
import redis

from runtime.broker.queues import list_keys
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _send(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return platform.run_air("send", *args)


@pytest.mark.slow
def test_a_cluster_rate_limit_holds_across_three_pools(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["pools"] = {name: {"queues": ["default"], "concurrency": 2} for name in "abc"}
    config["queues"] = {"default": {"priority": 5}}
    config["tasks"]["sample.record"] = {"rate_limit": {"rate": "2/s", "scope": "cluster"}}
    platform.write(config)
    for pool in "abc":
        platform.start_pool(pool, timeout=60)
    app = platform.app()
    with app.producer_or_acquire() as producer:
        for i in range(150):
            app.send_task("sample.record", args=[f"t{i}"], producer=producer)

    window, began = 60.0, time.time()
    wait_until(lambda: time.time() > began + window + 2, timeout=window + 10, interval=0.5)
    counted = (began + 1, began + 1 + window)
    starts = [e for e in events(redis_client, "record") if counted[0] <= e["at"] < counted[1]]

    rate = len(starts) / window
    workers = {e["pid"] for e in starts}
    print(f"cluster rate limit 2/s over {window:.0f} s on 3 pools: {len(starts)} starts, "
          f"{rate:.2f}/s, {len(workers)} worker processes")
    assert 1.8 <= rate <= 2.2  # within ±10 %
    assert len(workers) >= 3  # every pool took part, and still only 2/s in all


def test_a_unique_task_is_sent_once_while_queued_and_again_after_it_ends(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.slow"] = {"unique": {"for": "1m", "key": ["key"]}}
    platform.write(config)
    kwargs = json.dumps({"key": "a", "seconds": 1})

    first = _send(platform, "sample.slow", "--kwargs", kwargs)
    second = _send(platform, "sample.slow", "--kwargs", kwargs)
    other_key = _send(platform, "sample.slow", "--kwargs", json.dumps({"key": "b", "seconds": 0}))

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert second.stdout == first.stdout  # the same task id
    assert "already queued or running" in second.stderr
    assert other_key.stdout != first.stdout and "sent sample.slow" in other_key.stderr
    assert sum(redis_client.llen(k) for k in list_keys("default")) == 2  # not three

    platform.start_pool("default")
    def finished(key: str) -> bool:
        return any("done" in e for e in events(redis_client, key))

    wait_until(lambda: finished("a") and finished("b"), timeout=30)
    assert len([e for e in events(redis_client, "a") if "done" in e]) == 1  # ran once
    third = platform.run_air("send", "sample.slow", "--kwargs", kwargs, "--wait")
    assert third.returncode == 0, third.stderr
    assert third.stdout.splitlines()[0] != first.stdout.strip()  # released on success: sent anew


def test_a_unique_claim_is_released_on_failure_and_expires_without_a_worker(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.always_fails"] = {"unique": {"for": "2s"}}
    platform.write(config)

    first = _send(platform, "sample.always_fails", "--kwargs", '{"key": "x"}')
    (claim,) = redis_client.keys("air:unique:sample.always_fails:*")
    assert 0 < redis_client.pttl(claim) <= 2000  # a worker crash cannot leak it: it expires
    wait_until(lambda: not redis_client.exists(claim), timeout=10)
    expired = _send(platform, "sample.always_fails", "--kwargs", '{"key": "x"}')
    assert expired.stdout != first.stdout and "sent" in expired.stderr

    platform.start_pool("default")
    wait_until(lambda: _dead(platform), timeout=30, interval=0.5)
    wait_until(lambda: not redis_client.keys("air:unique:*"), timeout=10)  # released on failure


def test_replaying_a_unique_task_whose_key_is_held_keeps_the_dead_letter(
    platform: Platform, redis_client: redis.Redis
) -> None:
    """Replay's send is a no-op while another task with the same key is queued: the entry
    stays in the store (it used to be removed, as if replayed), and the command says so."""
    from runtime.broker.deadletter import DeadLetter, DeadLetterStore

    config = queues_config(platform.redis_url)
    config["tasks"]["sample.slow"] = {"unique": {"for": "1m", "key": ["key"]}}
    platform.write(config)
    store = DeadLetterStore(redis_client)
    store.add(
        DeadLetter(id="failed-1", task="sample.slow", reason="failed", kwargs={"key": "a"})
    )
    holder = _send(platform, "sample.slow", "--kwargs", json.dumps({"key": "a", "seconds": 0}))

    replayed = platform.run_air("dead", "replay", "failed-1")

    assert replayed.returncode == 1, replayed.stderr
    assert f"sample.slow[{holder.stdout.strip()}] with the same unique key" in replayed.stderr
    assert "air dead replay failed-1" in replayed.stderr and "Traceback" not in replayed.stderr
    assert store.get("failed-1") is not None
    assert sum(redis_client.llen(k) for k in list_keys("default")) == 1  # only the holder


def _dead(platform: Platform) -> bool:
    done = platform.run_air("dead", "list")
    return "sample.always_fails" in done.stdout


def test_a_redelivered_message_of_a_task_that_succeeded_is_not_run_again(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(queues_config(platform.redis_url))
    app = platform.app()
    result = app.send_task("sample.echo", args=["once"])
    (key,) = [k for k in list_keys("default") if redis_client.llen(k)]
    raw = redis_client.lindex(key, -1)

    platform.start_pool("default")
    assert result.get(timeout=30)["value"] == "once"

    # What kombu's Redis transport does when it restores an unacknowledged message (its ack
    # was lost, e.g. in a broker outage): the same message again, flagged redelivered.
    message: dict[str, Any] = json.loads(raw)
    message["headers"]["redelivered"] = True
    message["properties"]["delivery_info"]["redelivered"] = True
    redis_client.lpush(key, json.dumps(message))

    def consumed() -> bool:
        return not redis_client.llen(key) and not redis_client.hlen("unacked")

    wait_until(consumed, timeout=30, message="the redelivered message to be acknowledged")
    assert [e["value"] for e in events(redis_client, "echo")] == ["once"]
    assert result.state == "SUCCESS"
    wait_until(lambda: "already succeeded" in platform.logs(), timeout=10)
