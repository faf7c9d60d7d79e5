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


TICK = {"task": "sample.echo", "args": ["x"], "every": "1s", "queue": "default", "overlap": "allow"}


def _prepare(app, schedule: str, expected: str, at_ms: int) -> Fire:
    """What a beat prepares for the fire of `schedule` at `at_ms` (ms since the epoch), due
    now: beat's own step, message captured and not yet sent."""
    fire = datetime.fromtimestamp(at_ms / 1000, UTC)
    scheduler = RedisScheduler(app=app, lazy=True)
    return scheduler._step(app.air_plan.beat[schedule], expected, fire, 0.0, fire.timestamp())


UNIQUE_ECHO = {"queue": "default", "unique": {"for": "1m", "key": ["value"]}}


def _start(platform: Platform, redis_client, echo: dict | None = None) -> tuple[object, Fires, str]:
    """The `tick` schedule, its cursor started; `echo`: sample.echo's policy, if not the default."""
    queues = queues_config(platform.redis_url)
    if echo is not None:
        queues["tasks"]["sample.echo"] = echo
    platform.write(queues, schedules(tick=TICK))
    fires = Fires(redis_client)
    return platform.app(), fires, fires.start("tick", 1000)


def test_prepared_but_never_committed_sends_nothing_and_the_next_beat_sends_it(
    platform: Platform, redis_client
) -> None:
    app, fires, start = _start(platform, redis_client)

    killed = _prepare(app, "tick", start, 2000)  # beat A captured the message, then was killed
    assert _queued(redis_client) == []

    taken_over = _prepare(app, "tick", start, 2000)
    assert fires.commit(taken_over)  # beat B takes the fire over
    assert [m["headers"]["id"] for m in _queued(redis_client)] == [taken_over.task_id]
    assert taken_over.task_id != killed.task_id
    assert fires.cursor("tick") == "2000"


def test_a_stale_cursor_changes_and_sends_nothing(platform: Platform, redis_client) -> None:
    app, fires, start = _start(platform, redis_client)
    first = _prepare(app, "tick", start, 2000)
    assert fires.commit(first)

    assert not fires.commit(_prepare(app, "tick", start, 2000))  # read the cursor too early

    assert [m["headers"]["id"] for m in _queued(redis_client)] == [first.task_id]
    assert redis_client.hget(CURSOR, "tick") == b"2000"
    assert fires.stats() == {"tick": {"sent": 1, "missed": 0, "overlap": 0}}
    assert redis_client.hget(STATS, "tick:sent") == b"1"


def test_the_pushed_message_is_what_a_worker_runs(platform: Platform, redis_client) -> None:
    app, fires, start = _start(platform, redis_client)
    platform.start_pool("default")
    fire = _prepare(app, "tick", start, 2000)

    assert fires.commit(fire)

    assert app.AsyncResult(fire.task_id).get(timeout=30)["value"] == "x"


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
    app, _, start = _start(platform, redis_client)
    _prepare(app, "tick", start, 2000)

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
    app, fires = platform.app(), Fires(redis_client)
    start = fires.start("nightly", 1000)

    killed = _prepare(app, "nightly", start, 2000)  # beat A prepared it, then was killed
    assert _queued(redis_client) == [] and redis_client.hgetall(COUNTS) == {}

    taken_over = _prepare(app, "nightly", start, 2000)
    assert fires.commit(taken_over)

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


def test_a_fire_of_a_unique_task_already_queued_is_skipped_as_an_overlap(
    platform: Platform, redis_client
) -> None:
    app, fires, start = _start(platform, redis_client, UNIQUE_ECHO)
    manual = app.send_task("sample.echo", args=["x"])  # no worker: it stays queued, claimed

    assert fires.commit(_prepare(app, "tick", start, 2000)) == "overlap"

    assert [m["headers"]["id"] for m in _queued(redis_client)] == [manual.id]
    assert fires.stats()["tick"] == {"sent": 0, "missed": 0, "overlap": 1}


def test_a_unique_fire_takes_its_claim_in_the_commit_so_a_killed_beat_leaks_none(
    platform: Platform, redis_client
) -> None:
    """Preparing a fire claims nothing (beat A, killed before its commit, holds no claim that
    would block the fire for `unique.for`); the commit claims for the message it pushes, and
    the worker releases the claim when the task ends, so the next fire is sent."""
    app, fires, start = _start(platform, redis_client, UNIQUE_ECHO)
    _prepare(app, "tick", start, 2000)  # beat A, killed
    assert list(redis_client.scan_iter(match="air:unique:*")) == []

    fire = _prepare(app, "tick", start, 2000)
    assert fires.commit(fire) == "sent"
    (claim,) = redis_client.scan_iter(match="air:unique:*")
    assert redis_client.get(claim) == fire.task_id.encode()

    platform.start_pool("default")
    app.AsyncResult(fire.task_id).get(timeout=30)
    wait_until(lambda: not redis_client.exists(claim), message="the claim to be released")
    assert fires.commit(_prepare(app, "tick", "2000", 3000)) == "sent"


def test_a_send_that_claims_between_prepare_and_commit_turns_the_fire_into_an_overlap(
    platform: Platform, redis_client
) -> None:
    app, fires, start = _start(platform, redis_client, UNIQUE_ECHO)
    fire = _prepare(app, "tick", start, 2000)
    manual = app.send_task("sample.echo", args=["x"])

    assert fires.commit(fire) == "overlap"

    assert [m["headers"]["id"] for m in _queued(redis_client)] == [manual.id]
    assert fires.cursor("tick") == "2000"
