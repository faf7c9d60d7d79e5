"""Several `air beat` processes against one broker: every fire is sent exactly once, a beat
killed with -9 costs nothing, live beats are listed, and an unreachable broker at start is
exit 3 with one line."""

from __future__ import annotations

import os
import signal
import time

import pytest

from runtime.broker.beats import live_beats
from runtime.broker.fires import Fires
from runtime.process.embedded import free_port
from tests.e2e.beat_helpers import (
    assert_runs_never_overlapped,
    figures,
    queued_fires,
    schedules,
    sent,
)
from tests.e2e.conftest import Platform, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

TICK = {"task": "sample.echo", "every": "1s", "args": ["tick"]}


def test_three_beats_send_each_fire_once_and_survive_a_kill(
    platform: Platform, redis_client
) -> None:
    platform.write(queues_config(platform.redis_url), schedules(tick=TICK))
    beats = [platform.air("beat", log_name=f"beat{i}") for i in range(3)]
    wait_until(lambda: len(live_beats(redis_client)) == 3, 30, message="three live beats")
    wait_until(lambda: sent(redis_client, "tick") >= 4, 30, message="four fires")

    os.killpg(beats[0].pid, signal.SIGKILL)
    before = sent(redis_client, "tick")
    wait_until(lambda: sent(redis_client, "tick") >= before + 4, 30, message="fires after kill")
    os.killpg(beats[1].pid, signal.SIGTERM)  # a clean stop takes its heartbeat with it
    beats[1].wait(15)

    fires = queued_fires(redis_client, "default")
    assert figures(fires, 1.0) == {"sent": len(fires), "duplicated": 0, "lost": 0}, fires
    assert sent(redis_client, "tick") == len(fires)
    alive = {b.pid for b in live_beats(redis_client)}
    assert beats[2].pid in alive and beats[1].pid not in alive


def test_jitter_delays_each_fire_by_the_same_amount_on_every_beat(
    platform: Platform, redis_client
) -> None:
    platform.write(
        queues_config(platform.redis_url),
        schedules(tick={**TICK, "every": "2s", "jitter": "1.5s"}),
    )
    for i in range(2):
        platform.air("beat", log_name=f"beat{i}")
    wait_until(lambda: sent(redis_client, "tick") >= 4, 40, message="four fires")

    fires = queued_fires(redis_client, "default")
    assert figures(fires, 2.0)["duplicated"] == 0
    assert figures(fires, 2.0)["lost"] == 0


def test_beat_with_no_broker_at_start_exits_3_with_one_line(platform: Platform) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    platform.write(queues_config(url), schedules(tick=TICK))

    started = time.monotonic()
    result = platform.run_air("beat", "--broker-wait", "2s")

    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "does not answer" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_after_every_beat_was_down_recent_fires_are_sent_and_old_ones_counted(
    platform: Platform, redis_client
) -> None:
    platform.write(queues_config(platform.redis_url), schedules(tick={**TICK, "catch_up": "2s"}))
    first = platform.air("beat", log_name="first")
    wait_until(lambda: sent(redis_client, "tick") >= 2, 30, message="two fires")
    os.killpg(first.pid, signal.SIGKILL)
    down = time.monotonic()
    wait_until(lambda: time.monotonic() - down > 6, 10, interval=0.2, message="six seconds down")

    platform.air("beat", log_name="second")
    wait_until(lambda: Fires(redis_client).stats()["tick"]["missed"] > 0, 30, message="a skip")
    before = sent(redis_client, "tick")
    wait_until(lambda: sent(redis_client, "tick") >= before + 2, 30, message="regular fires")

    fires = queued_fires(redis_client, "default")
    stats = Fires(redis_client).stats()["tick"]
    numbers = figures(fires, 1.0)
    # every fire between the first and the last is either sent once or counted as missed
    assert numbers["duplicated"] == 0
    assert numbers["lost"] == stats["missed"] >= 3, (numbers, stats)
    assert stats["sent"] == len(fires)


def test_overlap_skip_holds_across_beats(platform: Platform, redis_client) -> None:
    platform.write(
        queues_config(platform.redis_url),
        schedules(
            busy={"task": "sample.slow", "every": "1s", "args": ["busy", 2.5], "overlap": "skip"}
        ),
    )
    platform.start_pool("default")  # two processes: overlapping runs would be possible
    for i in range(3):
        platform.air("beat", log_name=f"beat{i}")

    assert_runs_never_overlapped(redis_client)
    assert Fires(redis_client).stats()["busy"]["overlap"] > 0
