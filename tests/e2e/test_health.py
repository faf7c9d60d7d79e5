"""`air health` against real workers on a real Redis: a pool down and a queue over its SLO fail
by name, a healthy platform passes, `--pool` probes one worker, a dead broker exits 3."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from runtime.process.embedded import free_port
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def slo_config(redis_url: str) -> dict[str, Any]:
    config = queues_config(redis_url)
    config["queues"]["urgent"]["slo"] = {"max_wait": "30s"}
    config["queues"]["bulk"]["slo"] = {"max_wait": "1s", "max_depth": 3}
    config["tasks"]["sample.echo"] = {"queue": "bulk"}
    return config


def health(platform: Platform, *args: str) -> tuple[int, dict[str, Any]]:
    done = platform.run_air("health", "--format", "json", *args)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def failed(report: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(c["kind"], c["subject"], c["what"]) for c in report["checks"] if not c["ok"]}


@pytest.mark.slow
def test_pool_down_and_queue_over_slo_fail_by_name_then_health_passes(
    platform: Platform,
) -> None:
    platform.write(slo_config(platform.redis_url))
    platform.start_pool("urgent")
    platform.start_pool("default")
    app = platform.app()
    for i in range(5):  # to bulk, whose pool is not running yet
        app.send_task("sample.echo", args=[i])

    def both_breached() -> dict[str, Any] | None:
        code, report = health(platform)
        assert code == 1
        return report if ("queue", "bulk", "max_wait") in failed(report) else None

    report = wait_until(both_breached, 20, interval=0.3, message="bulk's max_wait breach")
    assert failed(report) == {
        ("pool", "bulk", "workers"),
        ("queue", "bulk", "max_depth"),
        ("queue", "bulk", "max_wait"),
    }
    depth = next(c for c in report["checks"] if c["what"] == "max_depth")
    assert (depth["value"], depth["limit"]) == (5, 3)
    wait = next(c for c in report["checks"] if c["what"] == "max_wait")
    assert wait["value"] >= 1.0 and wait["limit"] == 1.0

    text = platform.run_air("health")
    assert text.returncode == 1
    assert "FAIL  pool    bulk: no live worker answered" in text.stdout
    assert "FAIL  queue   bulk: 5 waiting, max_depth 3" in text.stdout
    assert "unhealthy: 3 of " in text.stdout
    assert platform.run_air("health", "--pool", "bulk").returncode == 1

    platform.start_pool("bulk")  # drains the backlog

    def healthy() -> bool:
        return platform.run_air("health").returncode == 0

    wait_until(healthy, 30, interval=0.3, message="a healthy platform")
    code, report = health(platform)
    assert (code, report["status"], report["failed"]) == (0, "healthy", 0)
    pools = {c["subject"]: c["detail"] for c in report["checks"] if c["kind"] == "pool"}
    assert set(pools) == {"urgent", "default", "bulk"}
    probe = platform.run_air("health", "--pool", "default")
    assert probe.returncode == 0 and "answers" in probe.stdout


@pytest.mark.slow
def test_beat_is_checked_when_schedules_are_declared(platform: Platform) -> None:
    schedules = {
        "version": 1,
        "schedules": {"tick": {"task": "sample.echo", "every": "1h", "queue": "default"}},
    }
    platform.write(queues_config(platform.redis_url), schedules)
    for pool in ("urgent", "default", "bulk"):
        platform.start_pool(pool)
    code, report = health(platform)
    assert code == 1 and failed(report) == {("beat", "beat", "lock")}
    platform.air("beat")
    wait_until(lambda: health(platform)[0] == 0, 30, interval=0.3, message="beat to be seen")


def test_broker_down_exits_3_with_one_line(platform: Platform) -> None:
    platform.write(queues_config(f"redis://127.0.0.1:{free_port()}/0"))
    for args in (("health",), ("health", "--pool", "default"), ("status",)):
        done: subprocess.CompletedProcess[str] = platform.run_air(*args)
        assert done.returncode == 3, done.stderr
        assert done.stdout == ""
        assert done.stderr.startswith("error: the broker at redis://127.0.0.1:")
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2  # + hint
