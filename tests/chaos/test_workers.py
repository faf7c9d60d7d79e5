"""Chaos against real workers and a real redis-server: pool processes and whole workers killed
with -9, Redis killed and restarted from its append-only file under load, a 30 s broker outage,
and poison messages. Each test prints its figures; docs/reliability.md records them."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import psutil
import pytest
import redis

from runtime.broker.deadletter import DeadLetterStore
from runtime.broker.queues import list_keys
from tests.chaos.conftest import Figures, work_events
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]


def _config(platform: Platform, **broker: str) -> None:
    config = queues_config(platform.redis_url)
    config["broker"].update(broker)
    if "visibility_timeout" in broker:  # every limit and retry delay stays under it
        config["defaults"]["time_limit"] = {"soft": "4s", "hard": "5s"}
    config["tasks"]["sample.work"] = {"retry": {"max": 3, "initial": "0.2s"}}
    config["tasks"]["sample.die_always"] = {"retry": {"max": 2, "initial": "0.2s"}}
    platform.write(config)


def _send(platform: Platform, count: int, seconds: float = 0.2) -> list[str]:
    app = platform.app()
    tags = [f"w{i}" for i in range(count)]
    with app.producer_or_acquire() as producer:
        for tag in tags:
            app.send_task("sample.work", args=[tag, seconds], producer=producer)
    return tags


def _all_done(client: redis.Redis, tags: list[str], timeout: float) -> list[dict[str, object]]:
    wanted = set(tags)

    def finished() -> bool:
        return wanted <= {e["tag"] for e in work_events(client) if e.get("done")}

    wait_until(finished, timeout=timeout, interval=0.2, message="every unit of work to finish")
    time.sleep(1.0)  # let any redelivered duplicate show up before counting
    return work_events(client)


def _pool_children(worker_pid: int) -> list[psutil.Process]:
    return psutil.Process(worker_pid).children(recursive=True)


def test_pool_processes_killed_under_load(platform: Platform, redis_client: redis.Redis) -> None:
    # A killed solo process's task comes back after the visibility timeout: keep it short.
    _config(platform, visibility_timeout="8s")
    worker = platform.start_pool("default")  # concurrency 2: two processes on two cores
    tags = _send(platform, 40, 0.3)
    for round_no in range(1, 4):
        logged = 6 * round_no
        wait_until(lambda n=logged: len(work_events(redis_client)) > n, timeout=30)
        random.choice(_pool_children(worker.pid)).send_signal(signal.SIGKILL)
    figures = Figures("kill -9 of a pool process (x3)", tags, _all_done(redis_client, tags, 90))
    figures.report()
    assert figures.lost == 0
    assert DeadLetterStore.from_url(platform.redis_url).count() == 0


def test_a_whole_worker_killed_under_load(platform: Platform, redis_client: redis.Redis) -> None:
    _config(platform, visibility_timeout="6s")
    worker = platform.start_pool("default")
    tags = _send(platform, 30, 0.3)
    wait_until(lambda: len([e for e in work_events(redis_client) if e.get("done")]) >= 8)
    os.killpg(worker.pid, signal.SIGKILL)  # main process and pool, no goodbye
    worker.wait()
    killed_at = time.time()
    platform.start_pool("default")
    done = _all_done(redis_client, tags, 120)
    after = [e["at"] for e in done if e.get("done") and e["at"] > killed_at]
    figures = Figures("kill -9 of a whole worker", tags, done, min(after) - killed_at)
    figures.report()
    assert figures.lost == 0  # at least once: a task that finished unacknowledged may run again


def test_redis_killed_and_restarted_from_its_append_only_file_under_load(
    durable_platform: Platform, events_client: redis.Redis
) -> None:
    platform, broker = durable_platform, durable_platform.broker
    assert broker is not None
    # Tasks running when the broker went away are cancelled unacknowledged; they come back
    # once the visibility timeout has run out, so keep it short here.
    _config(platform, visibility_timeout="8s")
    platform.start_pool("default")
    tags = _send(platform, 40, 0.2)
    wait_until(lambda: len([e for e in work_events(events_client) if e.get("done")]) >= 10)
    broker.kill()
    killed_at = time.time()
    broker.start()
    done = _all_done(events_client, tags, 120)
    after = [e["at"] for e in done if e.get("done") and e["at"] > killed_at]
    figures = Figures("Redis kill -9 and restart (AOF, fsync always)", tags, done)
    figures.recovery_s = min(after) - killed_at if after else None
    figures.report()
    assert figures.lost == 0
    # Tasks running at the kill finish; the next connection sends their acknowledgements.
    assert figures.duplicated == 0


def test_a_30_second_broker_outage_with_workers_running(
    durable_platform: Platform, events_client: redis.Redis
) -> None:
    platform, broker = durable_platform, durable_platform.broker
    assert broker is not None
    _config(platform, visibility_timeout="8s")
    worker = platform.start_pool("default")
    tags = _send(platform, 30, 0.2)
    wait_until(lambda: len([e for e in work_events(events_client) if e.get("done")]) >= 6)
    broker.stop()  # a clean stop: the append-only file holds everything
    outage_began = time.time()
    wait_until(lambda: time.time() - outage_began >= 30, timeout=40, interval=0.5)
    broker.start()
    done = _all_done(events_client, tags, 120)
    after = [e["at"] for e in done if e.get("done") and e["at"] > outage_began + 30]
    figures = Figures("30 s broker outage", tags, done)
    figures.recovery_s = min(after) - (outage_began + 30) if after else None
    figures.report()
    assert worker.poll() is None, platform.logs()  # the worker waited it out
    assert figures.lost == 0
    # A task that ended during the outage sends its acknowledgement and completion marker with
    # the first fetch after it: its message, redelivered (the outage outlasted the visibility
    # timeout), is acknowledged without running (Celery's cancelling ran one unit twice).
    assert figures.duplicated == 0
    # Reconnect attempts are at most 2 s apart (runtime/celeryapp/consumer.py), not up to 30 s.
    assert figures.recovery_s is not None and figures.recovery_s < 10, figures.report()


def test_poison_messages_end_in_the_dead_letter_store_and_work_goes_on(
    platform: Platform, redis_client: redis.Redis
) -> None:
    # A task that kills a solo process comes back after the visibility timeout: keep it short.
    _config(platform, visibility_timeout="6s")
    worker = platform.start_pool("default")
    app = platform.app()
    killer = app.send_task("sample.die_always", args=["poison"])
    unknown = app.send_task("sample.no_such_task", args=[1], queue="default")
    # Bytes no JSON decoder reads, where a message should be.
    redis_client.lpush(list_keys("default")[0], b"\xff\xfe not a message")
    tags = _send(platform, 10, 0.1)

    done = _all_done(redis_client, tags, 90)
    store = DeadLetterStore.from_url(platform.redis_url)
    wait_until(lambda: store.count() >= 2, timeout=60, message="two dead letters")
    letters = {letter.id: letter for letter in store.list()}
    figures = Figures("poison messages next to 10 good ones", tags, done)
    figures.report()
    assert figures.lost == 0 and figures.duplicated == 0
    assert letters[killer.id].reason == "worker-lost"
    attempts = events(redis_client, "poison")
    assert 1 <= len(attempts) <= 3  # retry.max 2: three runs at most, then no more
    assert letters[unknown.id].reason == "unknown-task"
    (garbage,) = store.undecodable()  # set aside, not lost, and the worker lived on
    assert "not a message" in garbage["raw"] and garbage["queue"] == "default"
    assert worker.poll() is None, platform.logs()
    print("dead letters:", json.dumps(sorted(letter.reason for letter in letters.values())))
