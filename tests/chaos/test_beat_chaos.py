"""Beats under failure: the beat that sent last is killed -9 with two others running, and the
broker goes away for 30 s under three beats. Each test prints its figures and asserts that no
fire was lost or sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import redis

from tests.e2e.beat_helpers import figures, queued_fires, schedules, sent
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

OUTAGE = 30.0


def _start_beats(platform: Platform, client: redis.Redis, schedule: dict) -> list:
    platform.write(queues_config(platform.redis_url), schedules(tick=schedule))
    beats = [platform.air("beat", log_name=f"beat{i}") for i in range(3)]
    wait_until(lambda: sent(client, "tick") >= 3, 40, message="the first fires")
    return beats


def _sender_of_last_fire(
    platform: Platform, client: redis.Redis, beats: list
) -> subprocess.Popen[bytes] | None:
    """The beat that sent the newest message (its log names the task id): the one acting as
    leader right now."""
    newest = max(
        (
            json.loads(raw)["headers"]
            for key in client.scan_iter(match="default*")
            if client.type(key) == b"list"
            for raw in client.lrange(key, 0, -1)
        ),
        key=lambda headers: headers["air_fire"],
    )
    for process, log in platform.processes:
        if process in beats and newest["id"] in log.read_text(errors="replace"):
            return process
    return None  # its log line is not written yet


def _report(name: str, numbers: dict[str, float]) -> None:
    print(f"\n{name}: " + ", ".join(f"{k} {v:g}" for k, v in numbers.items()))


def test_killing_the_beat_that_sends_loses_and_duplicates_nothing(
    durable_platform: Platform,
) -> None:
    platform = durable_platform
    client = redis.Redis.from_url(platform.redis_url)
    beats = _start_beats(platform, client, {"task": "sample.echo", "every": "1s"})
    leader = wait_until(
        lambda: _sender_of_last_fire(platform, client, beats), 10, message="the sender's log"
    )

    before = sent(client, "tick")
    os.killpg(leader.pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: sent(client, "tick") > before, 15, interval=0.05, message="a new fire")
    recovery = time.monotonic() - killed
    wait_until(lambda: sent(client, "tick") >= before + 5, 30, message="five more fires")

    numbers = figures(queued_fires(client, "default"), 1.0)
    _report("three beats, leader killed -9", {**numbers, "recovery_seconds": round(recovery, 2)})
    assert numbers["lost"] == 0 and numbers["duplicated"] == 0, numbers
    assert recovery < 5.0
    client.close()


def test_a_30s_broker_outage_is_caught_up_once_when_it_returns(
    durable_platform: Platform,
) -> None:
    platform, broker = durable_platform, durable_platform.broker
    assert broker is not None
    client = redis.Redis.from_url(platform.redis_url)
    beats = _start_beats(platform, client, {"task": "sample.echo", "every": "1s", "catch_up": "1m"})
    client.close()

    broker.stop()
    down = time.monotonic()
    wait_until(
        lambda: time.monotonic() - down >= OUTAGE,
        OUTAGE + 5,
        interval=0.5,
        message="the outage to last",
    )
    assert all(b.poll() is None for b in beats), platform.logs()
    broker.start()
    back = time.monotonic()
    client = redis.Redis.from_url(platform.redis_url)
    # the outage's fires (about 30) come back in one burst, then the regular ones
    during = OUTAGE + 2
    wait_until(
        lambda: len(queued_fires(client, "default")) >= 3 + during,
        30,
        interval=0.1,
        message="the outage's fires",
    )
    recovery = time.monotonic() - back
    wait_until(lambda: sent(client, "tick") >= 3 + during + 3, 20, message="regular fires again")

    numbers = figures(queued_fires(client, "default"), 1.0)
    _report(
        f"{OUTAGE:g}s broker outage, three beats",
        {**numbers, "recovery_seconds": round(recovery, 2)},
    )
    assert numbers["lost"] == 0 and numbers["duplicated"] == 0, numbers
    assert all(b.poll() is None for b in beats), platform.logs()
    assert client.hgetall("air:beat:stats").get(b"tick:missed") in (None, b"0")
    client.close()
