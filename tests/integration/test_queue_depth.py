"""Queue depth by priority and the oldest message's age, read from the ends of the priority
lists of a real Redis, for messages air publishes (stamped) and a plain Celery client sends
(not stamped)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from runtime.broker.queues import SENT_AT, list_keys, read_queues, sent_at
from runtime.celeryapp.app import create_app
from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from runtime.config.units import redis_priority

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def plan(redis_url: str) -> Plan:
    env = {"AIR_BROKER_URL": redis_url, "AIR_RESULT_BACKEND": redis_url}
    return load_plan(REPO / "config", env)[0]


@pytest.fixture
def app(plan: Plan) -> Iterator[Celery]:
    instance = create_app(plan)
    yield instance
    instance.close()


def test_empty_queues_have_no_depth_and_no_age(redis_client: redis.Redis, plan: Plan) -> None:
    found = read_queues(redis_client, [q.name for q in plan.queues])
    assert [q.name for q in found] == [q.name for q in plan.queues]
    assert all(q.depth == 0 and q.oldest_age() is None and not q.unstamped for q in found)


def test_depth_by_priority_and_age_of_the_oldest(redis_client: redis.Redis, app: Celery) -> None:
    before = time.time()
    app.send_task("debug", queue="default", priority=redis_priority(3))
    (first,) = [redis_client.lindex(k, -1) for k in list_keys("default") if redis_client.llen(k)]
    first_sent = sent_at(first)
    app.send_task("debug", queue="default", priority=redis_priority(3))
    app.send_task("debug", queue="default", priority=redis_priority(9))  # newer, more urgent

    (queue,) = read_queues(redis_client, ["default"])
    assert queue.by_priority == {3: 2, 9: 1}
    assert queue.depth == 3
    assert not queue.unstamped
    assert first_sent is not None and before <= first_sent <= time.time()
    assert queue.oldest_sent_at == first_sent
    assert queue.oldest_age(now=first_sent + 2.5) == 2.5


def test_a_plain_celery_message_counts_but_has_no_known_age(
    redis_client: redis.Redis, redis_url: str
) -> None:
    plain = (
        "import sys; from celery import Celery\n"
        "app = Celery('plain', broker=sys.argv[1])\n"
        "app.conf.broker_transport_options = {'priority_steps': list(range(10))}\n"
        "app.send_task('debug', queue='default', priority=4)\n"
    )
    subprocess.run([sys.executable, "-c", plain, redis_url], check=True, timeout=30)

    (queue,) = read_queues(redis_client, ["default"])
    assert queue.depth == 1
    assert queue.unstamped and queue.oldest_age() is None
    (raw,) = [redis_client.lindex(k, -1) for k in list_keys("default") if redis_client.llen(k)]
    assert sent_at(raw) is None and SENT_AT not in raw.decode()


def test_reading_never_scans_a_queue(redis_client: redis.Redis, app: Celery) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(2_000):
            app.send_task("debug", queue="default", producer=producer)
    redis_client.config_resetstat()

    (queue,) = read_queues(redis_client, ["default"])

    assert queue.depth == 2_000
    stats = redis_client.info("commandstats")
    assert stats["cmdstat_lindex"]["calls"] == 10  # one per priority list
    assert stats["cmdstat_llen"]["calls"] == 10
    assert not any(name in stats for name in ("cmdstat_lrange", "cmdstat_scan", "cmdstat_keys"))


def test_garbage_in_a_list_is_not_a_stamp() -> None:
    assert sent_at(b"not json") is None
    assert sent_at(b'{"headers": {"air_sent_at": "soon"}}') is None
    assert sent_at(b'{"headers": {"air_sent_at": 12.5}}') == 12.5
