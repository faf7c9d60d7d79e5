"""The exactly-once step itself, on a real Redis: a beat that prepared a fire and died before
its script ran sent nothing (another beat sends it), a stale cursor sends nothing, the message
the script pushes is the one Celery would have published, and a workflow's fire records the run
and sends its first steps in that same script."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from runtime.broker.fires import CURSOR, STATS, Fire, Fires
from runtime.broker.workflow_runs import COUNTS, WorkflowRuns
from runtime.sending.beat import RedisScheduler
from tests.e2e.beat_helpers import schedules
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


def _queued(client) -> list[dict]:
    keys = [k for k in client.scan_iter(match="default*") if client.type(k) == b"list"]
    return [json.loads(raw) for key in keys for raw in client.lrange(key, 0, -1)]


def _echo_commands(app, task_id: str):
    send = lambda: app.send_task("sample.echo", args=["x"], task_id=task_id, queue="default")  # noqa: E731
    return app.publish_commands(send, "sample.echo")


def _fire(app, expected: str, cursor_ms: int, task_id: str) -> Fire:
    commands = _echo_commands(app, task_id)
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
    _echo_commands(app, "captured")

    app.send_task("sample.echo", args=["y"], task_id="plain", queue="default")

    assert [m["headers"]["id"] for m in _queued(redis_client)] == ["plain"]


def test_a_workflow_fire_records_the_run_and_sends_its_first_steps_in_one_commit(
    platform: Platform, redis_client
) -> None:
    """A beat killed after preparing a workflow fire left no run record and no message; the
    beat that commits it starts one run, whose parallel first steps were both pushed by the
    commit (nothing is sent after it), and the run completes."""
    step = lambda tag: {"task": "sample.step", "kwargs": {"tag": tag}}  # noqa: E731
    platform.write(
        queues_config(platform.redis_url),
        schedules(nightly={"workflow": "fan", "every": "1s"}),
        {"fan": {"steps": [{"parallel": [step("b"), step("c")]}, step("d")]}},
    )
    app = platform.app()
    planned = app.air_plan.beat["nightly"]
    fire = datetime(2026, 1, 1, tzinfo=UTC)

    def prepare() -> Fire:
        scheduler = RedisScheduler(app=app, lazy=True)
        expected = scheduler.fires.start("nightly", 1000)
        return scheduler._step(planned, expected, fire, 0.0, fire.timestamp())

    killed = prepare()  # beat A prepared it, then was killed -9
    assert _queued(redis_client) == [] and redis_client.hgetall(COUNTS) == {}

    taken_over = prepare()
    assert Fires(redis_client).commit(taken_over)

    queued = [m["headers"] for m in _queued(redis_client)]
    assert sorted(h["kwargsrepr"] for h in queued) == ["{'tag': 'b'}", "{'tag': 'c'}"]
    assert {h["air_workflow_id"] for h in queued} == {taken_over.task_id} != {killed.task_id}
    assert redis_client.hgetall(COUNTS) == {b"fan:running": b"1"}
    platform.start_pool("default")
    wait_until(
        lambda: WorkflowRuns(redis_client).get(taken_over.task_id).state == "succeeded",
        message="the run to succeed",
    )
    assert sorted(e["tag"] for e in events(redis_client, "steps")) == ["b", "c", "d"]
