"""air's Redis transport and result backend, against a real redis-server.

runtime/broker/transport.py shares one client object per broker channel;
runtime/broker/result_backend.py stores a result in one atomic script. Both must behave exactly
as Celery's own do for everything a user can observe: messages delivered and acknowledged,
results readable, published to waiters, expiring on time, and a stored SUCCESS never overwritten.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery, states
from kombu import Connection

from runtime.broker.result_backend import RedisResultBackend
from runtime.broker.transport import Transport
from runtime.celeryapp.app import create_app
from runtime.compiler.compile import load_plan

REPO = Path(__file__).resolve().parents[2]


# --- the transport ---------------------------------------------------------------------------


@pytest.fixture
def connection(redis_url: str) -> Iterator[Connection]:
    with Connection(redis_url, transport="runtime.broker.transport:Transport") as conn:
        yield conn


def test_a_channel_builds_its_command_client_once(connection: Connection) -> None:
    channel = connection.default_channel
    assert isinstance(connection.transport, Transport)

    first = channel._create_client()
    assert channel._create_client() is first
    assert first.connection_pool is channel.pool
    # The blocking client that waits in BRPOP stays separate, on its own pool.
    assert channel._create_client(asynchronous=True) is not first


def test_a_new_pool_gets_a_new_client(connection: Connection) -> None:
    channel = connection.default_channel
    first = channel._create_client()

    channel._pool = None  # what kombu does when it disconnects the channel's pools

    second = channel._create_client()
    assert second is not first
    assert second.connection_pool is channel.pool


def test_a_detached_channel_reports_a_connection_error_not_a_crash(
    connection: Connection, redis_client: redis.Redis
) -> None:
    """What Celery does on a lost broker: detach the transport, then close the channel, which
    tries to put unacknowledged messages back. That must be an error the close path ignores."""
    queue = connection.SimpleQueue("air-detach-test")
    queue.put({"n": 1})
    message = queue.get(timeout=5)  # delivered, not acknowledged
    channel = connection.default_channel

    channel._disconnect_pools()
    connection.transport.client = None  # kombu's Connection.collect() does this
    with pytest.raises(redis.exceptions.ConnectionError):
        channel._create_client()
    connection.maybe_close_channel(channel)  # ignores connection errors: no AttributeError

    # The message stays in the unacked index, to come back after the visibility timeout.
    assert redis_client.hlen("unacked") == 1
    assert message.delivery_tag.encode() in redis_client.hkeys("unacked")


def test_messages_are_delivered_tracked_and_acknowledged(
    connection: Connection, redis_client: redis.Redis
) -> None:
    queue = connection.SimpleQueue("air-transport-test")
    for n in range(3):
        queue.put({"n": n})

    received = [queue.get(timeout=5) for _ in range(3)]
    # Delivered but not acknowledged: kombu keeps each in the unacked hash (visibility timeout).
    assert redis_client.hlen("unacked") == 3
    for message in received:
        message.ack()

    assert [m.payload["n"] for m in received] == [0, 1, 2]
    assert redis_client.hlen("unacked") == 0
    assert redis_client.zcard("unacked_index") == 0
    queue.close()


def test_the_compiled_plan_selects_the_transport_for_redis_urls_only(tmp_path: Path) -> None:
    plan, _ = load_plan(REPO / "config")
    assert plan.celery["broker_transport"] == "runtime.broker.transport:Transport"
    assert plan.result_backend_class == "runtime.broker.result_backend:RedisResultBackend"

    config = (REPO / "config" / "queues.yaml").read_text()
    (tmp_path / "queues.yaml").write_text(
        config.replace("${AIR_BROKER_URL:-redis://", "${AIR_BROKER_URL:-rediss://")
    )
    (tmp_path / "schedules.yaml").write_text((REPO / "config" / "schedules.yaml").read_text())
    tls_plan, _ = load_plan(tmp_path)
    assert tls_plan.celery["broker_url"].startswith("rediss://")
    assert "broker_transport" not in tls_plan.celery  # kombu's own transport for TLS


# --- the result backend ----------------------------------------------------------------------


@pytest.fixture
def backend(redis_url: str) -> Iterator[RedisResultBackend]:
    app = Celery("results-test", set_as_current=False)
    app.conf.update(
        result_backend=redis_url,
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        result_expires=600,
        result_failure_expires=3600,
    )
    app.backend_cls = "runtime.broker.result_backend:RedisResultBackend"
    instance = app.backend
    assert isinstance(instance, RedisResultBackend)
    yield instance
    app.close()


def stored(client: redis.Redis, task_id: str) -> dict[str, Any]:
    raw = client.get(f"celery-task-meta-{task_id}")
    assert raw is not None
    meta: dict[str, Any] = json.loads(raw)
    return meta


def test_a_result_is_stored_readable_and_expires(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    backend.mark_as_done("t1", {"answer": 42})

    assert backend.get_task_meta("t1")["result"] == {"answer": 42}
    assert stored(redis_client, "t1")["status"] == states.SUCCESS
    assert 590 <= redis_client.ttl("celery-task-meta-t1") <= 600


def test_a_failure_keeps_its_own_expiry(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    backend.mark_as_failure("t2", ValueError("bad input"))

    meta = stored(redis_client, "t2")
    assert meta["status"] == states.FAILURE
    assert meta["result"]["exc_type"] == "ValueError"
    assert 3590 <= redis_client.ttl("celery-task-meta-t2") <= 3600


def test_a_success_is_never_overwritten(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    backend.mark_as_started("t3")
    assert stored(redis_client, "t3")["status"] == states.STARTED
    backend.mark_as_done("t3", "first")

    # A duplicate delivery of the same task finishing later, or failing, changes nothing.
    backend.mark_as_done("t3", "second")
    backend.mark_as_failure("t3", RuntimeError("late duplicate"))
    backend.mark_as_retry("t3", RuntimeError("late retry"))

    meta = stored(redis_client, "t3")
    assert (meta["status"], meta["result"]) == (states.SUCCESS, "first")


def test_a_stored_value_that_is_not_json_is_replaced(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    redis_client.set("celery-task-meta-t4", b"\x80not json")

    backend.mark_as_done("t4", 1)

    assert stored(redis_client, "t4")["result"] == 1


def test_waiters_are_told_through_the_key_channel(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("celery-task-meta-t5")
    got: list[bytes] = []

    def listen() -> None:
        for _ in range(50):
            message = pubsub.get_message(timeout=0.1)
            if message:
                got.append(message["data"])
                return

    listener = threading.Thread(target=listen)
    listener.start()
    backend.mark_as_done("t5", "published")
    listener.join(10)
    pubsub.close()

    assert len(got) == 1
    assert json.loads(got[0])["result"] == "published"


def test_the_script_is_loaded_again_after_the_server_forgets_it(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    backend.mark_as_done("t6", "before")
    redis_client.script_flush()

    backend.mark_as_done("t7", "after")

    assert stored(redis_client, "t7")["result"] == "after"


def test_a_result_costs_one_round_trip(
    backend: RedisResultBackend, redis_client: redis.Redis
) -> None:
    backend.mark_as_done("warm-up", None)  # loads the script

    def calls() -> dict[str, int]:
        stats = redis_client.info("commandstats")
        return {
            name: stats.get(f"cmdstat_{name}", {}).get("calls", 0)
            for name in ("evalsha", "exec", "get")
        }

    before = calls()
    backend.mark_as_done("t8", "one round trip")
    after = calls()

    # One EVALSHA, whose GET runs on the server; Celery's backend sends a GET, then a
    # MULTI/SETEX/PUBLISH/EXEC pipeline: two round trips.
    assert after["evalsha"] - before["evalsha"] == 1
    assert after["exec"] == before["exec"]
    assert stored(redis_client, "t8")["result"] == "one round trip"


def test_the_app_built_from_the_plan_uses_it() -> None:
    plan, _ = load_plan(REPO / "config")
    app = create_app(plan)
    try:
        assert isinstance(app.backend, RedisResultBackend)  # built, not connected
    finally:
        app.close()
