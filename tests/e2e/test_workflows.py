"""Declared workflows against real workers: order, parallel steps, the chord's input, a failure
that stops the run and a replay that resumes it, and a worker killed mid-step."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import redis

from runtime.broker.workflow_runs import WorkflowRuns
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _step(tag: str, **more: object) -> dict[str, object]:
    return {"task": "sample.step", "kwargs": {"tag": tag, **more}}


def _run(platform: Platform, name: str) -> subprocess.CompletedProcess[str]:
    return platform.run_air("send", "--workflow", name, "--wait", "--timeout", "60", timeout=90)


def test_steps_run_in_order_parallel_ones_at_once_and_the_chord_gets_every_result(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(
        queues_config(platform.redis_url),
        workflows={
            "fan": {
                "steps": [
                    _step("a"),
                    {"parallel": [_step("b", seconds=1.0), _step("c", seconds=1.0)]},
                    _step("d"),
                ]
            }
        },
    )
    platform.start_pool("default")  # concurrency 2

    done = _run(platform, "fan")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.split("\n", 1)[1]) == "d"  # the last step's result
    assert "steps 4/4 succeeded" in done.stderr
    steps = {e["tag"]: e for e in events(redis_client, "steps")}
    assert steps["a"]["previous"] is None
    assert steps["b"]["previous"] == steps["c"]["previous"] == "a"
    assert sorted(steps["d"]["previous"]) == ["b", "c"]  # the chord: every result, one list
    b, c = steps["b"], steps["c"]
    assert b["pid"] != c["pid"] and abs(b["started"] - c["started"]) < 0.9  # at the same time
    assert steps["a"]["started"] < min(b["started"], c["started"])
    assert max(b["started"], c["started"]) < steps["d"]["started"]


def test_a_failed_step_stops_the_workflow_and_replay_resumes_from_it(
    platform: Platform, redis_client: redis.Redis
) -> None:
    platform.write(
        queues_config(platform.redis_url),
        workflows={
            "fragile": {
                "steps": [
                    _step("first"),
                    {"task": "sample.fail_first", "kwargs": {"key": "middle"}},
                    _step("last"),
                ]
            }
        },
    )
    platform.start_pool("default")

    failed = _run(platform, "fragile")

    assert failed.returncode == 1
    assert "stopped at step 1" in failed.stderr and "Traceback" not in failed.stderr
    assert [e["tag"] for e in events(redis_client, "steps")] == ["first"]  # `last` never ran
    listed = platform.run_air("dead", "list", "--format", "json")
    (letter,) = json.loads(listed.stdout)
    assert letter["task"] == "sample.fail_first"
    assert letter["workflow"]["name"] == "fragile" and letter["workflow"]["step"] == "1"
    runs = WorkflowRuns(redis_client)
    assert runs.counts() == {"fragile": {"running": 0, "succeeded": 0, "failed": 1}}

    replayed = platform.run_air("dead", "replay", letter["id"])
    assert replayed.returncode == 0, replayed.stderr
    assert re.search(r"resumed workflow fragile\[.+\] from step 1", replayed.stdout)

    wait_until(lambda: len(events(redis_client, "steps")) == 2, timeout=30)
    tags = [e["tag"] for e in events(redis_client, "steps")]
    assert tags == ["first", "last"]  # nothing before the failed step ran twice
    middle = events(redis_client, "middle")
    assert [m["attempt"] for m in middle] == [1, 2]
    assert middle[1]["previous"] == "first"  # resumed with what the step before returned
    assert events(redis_client, "steps")[1]["previous"] == "middle on attempt 2"
    run_id = letter["workflow"]["id"]
    wait_until(lambda: redis_client.hget(f"air:workflow:{run_id}", "state") == b"succeeded")
    # The replay moved the run back to running; its last step, on to succeeded.
    assert runs.counts() == {"fragile": {"running": 0, "succeeded": 1, "failed": 0}}


def test_a_worker_killed_mid_step_does_not_lose_the_workflow(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.die_once"] = {"retry": {"max": 2}}
    platform.write(
        config,
        workflows={
            "sturdy": {
                "steps": [
                    _step("before"),
                    {"task": "sample.die_once", "kwargs": {"key": "dies"}, "input": "none"},
                    _step("after"),
                ]
            }
        },
    )
    platform.start_pool("default")

    done = _run(platform, "sturdy")

    assert done.returncode == 0, done.stderr
    assert [e["attempt"] for e in events(redis_client, "dies")] == [1, 2]
    steps = events(redis_client, "steps")
    assert [e["tag"] for e in steps] == ["before", "after"]
    assert steps[1]["previous"] == 2  # die_once returned its attempt number


@pytest.mark.slow
def test_a_schedule_starts_the_workflow_once_per_fire_and_status_counts_its_runs(
    platform: Platform, redis_client: redis.Redis
) -> None:
    """Two beats race for every fire of an `every: 1s` workflow schedule with `overlap: skip`:
    each fire starts one run, never two, and no run starts while the last one is in flight."""
    from runtime.broker.fires import STATS
    from runtime.broker.workflow_runs import COUNTS

    platform.write(
        queues_config(platform.redis_url),
        schedules={
            "version": 1,
            "schedules": {
                "fan-nightly": {"workflow": "fan", "every": "1s", "overlap": "skip"}
            },
        },
        workflows={
            "fan": {
                "steps": [
                    {"parallel": [_step("b", seconds=1.5), _step("c", seconds=1.5)]},
                    _step("d"),
                ]
            }
        },
    )
    platform.start_pool("default")
    platform.air("beat", log_name="beat-1")
    platform.air("beat", log_name="beat-2")

    def counts() -> dict[str, int]:
        status = platform.run_air("status", "--format", "json", "--timeout", "0.5")
        return json.loads(status.stdout)["workflows"]["fan"]

    wait_until(lambda: counts()["succeeded"] >= 2, timeout=40)
    with redis_client.pipeline(transaction=True) as pipe:  # both at one instant: beats go on
        raw_stats, raw_counts = pipe.hgetall(STATS).hgetall(COUNTS).execute()
    stats = {k.decode(): int(v) for k, v in raw_stats.items()}
    final = {k.decode().rpartition(":")[2]: int(v) for k, v in raw_counts.items()}
    final = {state: final.get(state, 0) for state in ("running", "succeeded", "failed")}
    # A run takes about 1.6s, so the 1s schedule skipped fires while one was in flight.
    assert stats.get("fan-nightly:overlap", 0) >= 1
    # Every fire sent started exactly one run, and at most one was in flight at a time.
    assert stats["fan-nightly:sent"] == sum(final.values())
    assert final["failed"] == 0 and final["running"] <= 1
    tags = [e["tag"] for e in events(redis_client, "steps")]
    assert tags.count("d") == final["succeeded"]  # every succeeded run ran all of its steps
    assert tags.count("b") == tags.count("c") >= tags.count("d")
