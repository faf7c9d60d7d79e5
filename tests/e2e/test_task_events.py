"""Task events reach monitors, in batches, and none is held back when a worker stops.

Monitors (Flower, `celery events`) read task events from the `celeryev` fanout exchange, which
kombu's Redis transport publishes on a pub/sub channel. These tests listen on that channel with
a plain Redis subscriber, the way any monitor would receive them.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.e2e.conftest import Platform, events
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

TASK_EVENTS = ("task-received", "task-started", "task-succeeded")


class EventListener:
    """Collects every message published on the worker event exchange, in redis-py's pub/sub
    thread."""

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.messages: list[list[dict[str, Any]]] = []  # one list of events per message
        self.pubsub.psubscribe(**{"*celeryev*": self._collect})
        self._thread = self.pubsub.run_in_thread(sleep_time=0.1, daemon=True)

    def _collect(self, raw: dict[str, Any]) -> None:
        envelope = json.loads(raw["data"])
        body = envelope["body"]
        if envelope["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        payload = json.loads(body)
        self.messages.append(payload if isinstance(payload, list) else [payload])

    def task_events(self, task_ids: set[str]) -> list[dict[str, Any]]:
        return [
            event
            for message in list(self.messages)
            for event in message
            if event.get("uuid") in task_ids and event["type"] in TASK_EVENTS
        ]

    def task_messages(self) -> list[list[dict[str, Any]]]:
        return [m for m in list(self.messages) if any(e["type"].startswith("task-") for e in m)]

    def close(self) -> None:
        self._thread.stop()
        self._thread.join(5)
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def listener(redis_url: str) -> Iterator[EventListener]:
    listener = EventListener(redis_url)
    yield listener
    listener.close()


def test_every_task_event_arrives_in_fewer_messages_than_events(
    platform: Platform, listener: EventListener
) -> None:
    platform.start_pool("default")
    app = platform.app()

    results = [app.send_task("sample.echo", args=[i]) for i in range(30)]
    for result in results:
        result.get(timeout=20)
    ids = {r.id for r in results}

    expected = len(ids) * len(TASK_EVENTS)
    got = wait_until(
        lambda: (e := listener.task_events(ids)) and len(e) >= expected and e,
        timeout=10,
        message=f"{expected} task events",
    )
    by_type = {kind: {e["uuid"] for e in got if e["type"] == kind} for kind in TASK_EVENTS}
    assert by_type == {kind: ids for kind in TASK_EVENTS}
    # Batched: a published message carries many events (Celery's stock consumer publishes
    # nearly one message per event on a busy worker).
    messages = listener.task_messages()
    assert len(messages) <= expected / 3, [len(m) for m in messages]


def test_events_of_a_task_finishing_during_warm_shutdown_are_published(
    platform: Platform, listener: EventListener, redis_client: redis.Redis
) -> None:
    worker = platform.start_pool("default")
    app = platform.app()
    result = app.send_task("sample.slow", args=["shutdown", 1.5])
    wait_until(lambda: events(redis_client, "shutdown"), timeout=10, message="the task to start")

    worker.send_signal(signal.SIGTERM)  # the main process only: warm shutdown finishes the task
    assert worker.wait(30) == 0
    assert result.get(timeout=5) == "done on attempt 1"

    time.sleep(0.3)  # longer than the batch interval, so a late flush would have arrived
    kinds = {e["type"] for e in listener.task_events({result.id})}
    assert kinds == set(TASK_EVENTS)


def test_tasks_and_their_events_flow_again_after_a_broker_restart(
    crashable_platform: Platform,
) -> None:
    platform, broker = crashable_platform, crashable_platform.broker
    assert broker is not None
    platform.start_pool("default")
    before = platform.app().send_task("sample.echo", args=["before"])
    assert before.get(timeout=20)["value"] == "before"

    broker.kill()  # a crash: connections drop without a goodbye
    broker.start()
    listener = EventListener(platform.redis_url)
    try:
        # The worker reconnects (Celery retries with back-off) and consumes again. The sender
        # is a new client, as `air send` would be: this tests the worker, not Celery's client.
        result = platform.app().send_task("sample.echo", args=["after"])
        assert result.get(timeout=60)["value"] == "after"
        # Three events: fewer than a batch, so only the flush timer can deliver them.
        got = wait_until(
            lambda: (e := listener.task_events({result.id})) and len(e) >= 3 and e,
            timeout=10,
            message="the task's events after the restart",
        )
        assert {e["type"] for e in got} == set(TASK_EVENTS)
    finally:
        listener.close()
