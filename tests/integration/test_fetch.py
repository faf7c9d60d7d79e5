"""air's fetch script against a real redis-server: order, the unacked index, acks, restore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue

from runtime.broker.transport import UnsupportedKombu, check_kombu
from runtime.compiler.compile import UNACKED_MUTEX_EXPIRE, load_plan

TRANSPORT = "runtime.broker.transport:Transport"
OPTIONS = {"priority_steps": list(range(10)), "queue_order_strategy": "priority"}
QUEUES_YAML = """\
version: 1
broker: {{url: "{url}"}}
queues: {{urgent: {{priority: 10}}, bulk: {{priority: 1}}}}
pools: {{p: {{queues: [urgent, bulk], concurrency: 1}}}}
defaults: {{queue: urgent}}
tasks: {{}}
"""
QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in ("urgent", "bulk")]


@pytest.fixture
def connection(redis_url: str) -> Iterator[Any]:
    with Connection(redis_url, transport=TRANSPORT, transport_options=OPTIONS) as conn:
        for queue in QUEUES:
            queue(conn.default_channel).declare()  # bind before publishing
        yield conn


def _publish(connection: Any, queue: str, body: str, priority: int) -> None:
    with Producer(connection) as producer:
        producer.publish(
            body, exchange=queue, routing_key=queue, priority=priority, serializer="json"
        )


def _take(connection: Any, count: int) -> list[Any]:
    got: list[Any] = []
    with Consumer(connection, QUEUES, callbacks=[lambda b, m: got.append(m)], accept=["json"]):
        while len(got) < count:
            connection.drain_events(timeout=5)
    return got


def test_priority_beats_queue_order_and_deliveries_are_recorded(
    connection: Any, redis_client: redis.Redis
) -> None:
    # Redis priorities: 0 is the most urgent. 'bulk' is listed after 'urgent' but holds the
    # most urgent message: it comes first.
    _publish(connection, "urgent", "u5", 5)
    _publish(connection, "bulk", "b0", 0)
    _publish(connection, "urgent", "u9", 9)
    redis_client.config_resetstat()
    messages = _take(connection, 3)
    assert [m.payload for m in messages] == ["b0", "u5", "u9"]
    stats = redis_client.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] >= 3 and "cmdstat_brpop" not in stats  # the script

    stored = redis_client.hgetall("unacked")
    assert set(stored) == {m.delivery_tag.encode() for m in messages}
    assert redis_client.zcard("unacked_index") == 3
    entry = json.loads(stored[messages[0].delivery_tag.encode()])  # kombu's own format
    assert entry[0]["properties"]["delivery_tag"] == messages[0].delivery_tag
    assert entry[1:] == ["bulk", "bulk"]

    for message in messages:
        message.ack()  # no event loop here: sent at once
    assert redis_client.hlen("unacked") == 0 and redis_client.zcard("unacked_index") == 0


def test_an_unacknowledged_message_is_restored_by_kombu(
    connection: Any, redis_client: redis.Redis
) -> None:
    _publish(connection, "urgent", "lost", 5)
    (message,) = _take(connection, 1)
    assert redis_client.llen("urgent\x06\x165") == 0

    qos = message.channel.qos
    qos.visibility_timeout = 0  # as if the visibility timeout had passed
    qos.restore_visible(interval=1)
    assert redis_client.hlen("unacked") == 0
    (again,) = _take(connection, 1)
    assert again.payload == "lost" and again.delivery_tag == message.delivery_tag


def test_a_sweep_lock_left_by_a_killed_worker_delays_restores_by_seconds_not_minutes(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    # The sweep lock as kombu's redis-py lock leaves it when its worker is killed mid-sweep,
    # with the expiry the compiled plan gives it.
    (tmp_path / "queues.yaml").write_text(QUEUES_YAML.format(url=redis_url))
    (tmp_path / "schedules.yaml").write_text("version: 1\nschedules: {}\n")
    plan, _ = load_plan(tmp_path)
    options = plan.celery["broker_transport_options"]
    assert options["unacked_mutex_expire"] == UNACKED_MUTEX_EXPIRE
    with Connection(redis_url, transport=TRANSPORT, transport_options=options) as conn:
        for queue in QUEUES:
            queue(conn.default_channel).declare()
        _publish(conn, "urgent", "lost", 5)
        (message,) = _take(conn, 1)
        redis_client.set("unacked_mutex", "killed-worker", ex=options["unacked_mutex_expire"])
        qos = message.channel.qos
        qos.visibility_timeout = 0  # as if the visibility timeout had passed
        qos.restore_visible(interval=1)
        assert redis_client.hlen("unacked") == 1  # the lock is held: no sweep yet
        assert qos.unacked_mutex_expire == UNACKED_MUTEX_EXPIRE  # kombu's own would be 300 s
        redis_client.delete("unacked_mutex")  # what its expiry does, without the wait
        qos.restore_visible(interval=1)
        assert redis_client.hlen("unacked") == 0
        (again,) = _take(conn, 1)
        assert again.payload == "lost"


def test_an_untested_kombu_version_is_refused_with_a_hint() -> None:
    check_kombu()  # the installed one
    with pytest.raises(UnsupportedKombu, match="kombu 5.8.0 is installed") as caught:
        check_kombu("5.8.0")
    assert caught.value.exit_code == 70 and "pip install" in (caught.value.hint or "")
