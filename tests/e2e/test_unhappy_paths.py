"""What an operator sees when Redis is missing or wrong: exit 3, one clear line, no traceback,
and no long hang."""

from __future__ import annotations

import subprocess
import time

import pytest
import redis

from runtime.broker.queues import read_queues
from runtime.process.embedded import free_port
from tests.e2e.conftest import AIR, Platform, queues_config
from tests.nonredis import serving
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def nowhere() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def assert_one_clear_error(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    assert "Traceback" not in result.stderr + result.stdout


def timed(platform: Platform, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    result = platform.run_air(*args, timeout=60)
    return result, time.monotonic() - began


def test_beat_with_the_broker_down_gives_up_after_the_wait(platform: Platform) -> None:
    platform.write(queues_config(nowhere()))

    result, took = timed(platform, "beat", "--broker-wait", "1s")

    assert_one_clear_error(result, "gave up after 1s", "the broker at redis://", "does not answer")
    assert "waiting up to 1s for the broker" in result.stderr
    assert took < 15


def test_run_says_at_once_that_it_waits_for_the_broker(platform: Platform) -> None:
    url = nowhere().replace("redis://", "redis://:s3cret@")
    platform.write(queues_config(url))
    run = subprocess.Popen(
        [AIR, "-q", "run", "default", "--broker-wait", "3s"],  # -q: no config warnings
        env=platform.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stderr is not None
        began = time.monotonic()
        first = run.stderr.readline()
        said_after = time.monotonic() - began
        rest = run.communicate(timeout=30)[1]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    assert first.startswith("air: waiting up to 3s for the broker at redis://:***@127.0.0.1:")
    assert said_after < 10  # a cold interpreter start under load, not the 3 s wait
    assert run.returncode == 3
    assert "error: gave up after 3s" in rest and "s3cret" not in first + rest
    assert "Traceback" not in rest


def test_send_without_wait_does_not_need_the_result_backend(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["broker"]["result_backend"] = nowhere()
    platform.write(config)

    result, took = timed(platform, "send", "sample.echo")

    assert result.returncode == 0, result.stderr
    assert took < 5
    assert read_queues(redis_client, ["default"])[0].depth == 1


def test_send_wait_with_the_result_backend_down_exits_3_before_sending(
    platform: Platform, redis_client: redis.Redis
) -> None:
    config = queues_config(platform.redis_url)
    config["broker"]["result_backend"] = nowhere()
    platform.write(config)

    result, took = timed(platform, "send", "sample.echo", "--wait")

    assert_one_clear_error(result, "the result backend at redis://", "does not answer")
    assert took < 5
    assert read_queues(redis_client, ["default"])[0].depth == 0


@pytest.mark.parametrize("kind", ["nonsense", "http"])
def test_send_to_an_address_that_is_not_redis_exits_3(platform: Platform, kind: str) -> None:
    with serving(kind) as url:
        platform.write(queues_config(url))
        result, took = timed(platform, "send", "sample.echo")

    assert_one_clear_error(result, "but not Redis")
    assert took < 10


def test_run_starts_once_a_late_broker_comes_up(crashable_platform: Platform) -> None:
    platform = crashable_platform
    assert platform.broker is not None
    platform.broker.stop()
    process = platform.air("run", "default", "--broker-wait", "60s")
    wait_until(
        lambda: "waiting up to 60s" in platform.logs(), timeout=20, message="the waiting line"
    )

    platform.broker.start()

    platform.wait_ready("default", process, timeout=40)
