"""The exactly-once step itself, on a real Redis: a beat that prepared a fire and died before
its script ran sent nothing (another beat sends it), a stale cursor sends nothing, and the
message the script pushes is the one Celery would have published."""

from __future__ import annotations

import json

import pytest

from runtime.broker.fires import CURSOR, STATS, Fire, Fires
from runtime.sending.capture import publish_commands
from tests.e2e.beat_helpers import schedules
from tests.e2e.conftest import Platform, queues_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _queued(client) -> list[dict]:
    keys = [k for k in client.scan_iter(match="default*") if client.type(k) == b"list"]
    return [json.loads(raw) for key in keys for raw in client.lrange(key, 0, -1)]


def _fire(app, expected: str, cursor_ms: int, task_id: str) -> Fire:
    commands = publish_commands(app, "sample.echo", ["x"], {}, task_id, {"queue": "default"})
    return Fire(
        schedule="tick",
        expected=expected,
        cursor_ms=cursor_ms,
        outcome="sent",
        fired_at="2026-01-01T00:00:01+00:00",
        task_id=task_id,
        commands=commands,
    )


def test_prepared_but_never_committed_sends_nothing_and_the_next_beat_sends_it(
    platform: Platform, redis_client
) -> None:
    platform.write(queues_config(platform.redis_url), schedules())
    app, fires = platform.app(), Fires(redis_client)
    start = fires.start("tick", 1000)

    _fire(app, start, 2000, "beat-a")  # beat A captured the message, then was killed -9
    assert _queued(redis_client) == []

    assert fires.commit(_fire(app, start, 2000, "beat-b"))  # beat B takes the fire over
    assert [m["headers"]["id"] for m in _queued(redis_client)] == ["beat-b"]
    assert fires.cursor("tick") == "2000"


def test_a_stale_cursor_changes_and_sends_nothing(platform: Platform, redis_client) -> None:
    platform.write(queues_config(platform.redis_url), schedules())
    app, fires = platform.app(), Fires(redis_client)
    start = fires.start("tick", 1000)
    assert fires.commit(_fire(app, start, 2000, "first"))

    assert not fires.commit(_fire(app, start, 2000, "second"))  # read the cursor too early

    assert [m["headers"]["id"] for m in _queued(redis_client)] == ["first"]
    assert redis_client.hget(CURSOR, "tick") == b"2000"
    assert fires.stats() == {"tick": {"sent": 1, "missed": 0, "overlap": 0}}
    assert redis_client.hget(STATS, "tick:sent") == b"1"


def test_the_pushed_message_is_what_a_worker_runs(platform: Platform, redis_client) -> None:
    platform.write(queues_config(platform.redis_url), schedules())
    platform.start_pool("default")
    app, fires = platform.app(), Fires(redis_client)

    assert fires.commit(_fire(app, fires.start("tick", 1000), 2000, "run-me"))

    assert app.AsyncResult("run-me").get(timeout=30)["value"] == "x"


def test_missed_fires_are_counted_once_and_never_sent(platform: Platform, redis_client) -> None:
    fires = Fires(redis_client)
    start = fires.start("tick", 1000)
    missed = Fire(schedule="tick", expected=start, cursor_ms=9000, outcome="missed", count=8)

    assert fires.commit(missed)
    assert not fires.commit(missed)  # a second beat with the same view changes nothing

    assert fires.stats()["tick"]["missed"] == 8
    assert _queued(redis_client) == []


def test_capturing_leaves_the_pooled_producer_publishing_normally(
    platform: Platform, redis_client
) -> None:
    platform.write(queues_config(platform.redis_url), schedules())
    app = platform.app()
    publish_commands(app, "sample.echo", ["x"], {}, "captured", {"queue": "default"})

    app.send_task("sample.echo", args=["y"], task_id="plain", queue="default")

    assert [m["headers"]["id"] for m in _queued(redis_client)] == ["plain"]
