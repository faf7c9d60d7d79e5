"""`air up` runs the whole platform and stops cleanly; `air run` and `air send` as users do."""

from __future__ import annotations

import json
import signal
import subprocess

import psutil
import pytest
from celery import Celery

from runtime.process.embedded import answers, free_port
from tests.e2e.conftest import AIR, Platform, ping, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _up_with_embedded_redis(platform: Platform) -> tuple[subprocess.Popen[bytes], int]:
    """`air up` on a free port (nothing listens there: it must start its embedded Redis),
    returned once every pool is ready."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    platform.write(
        queues_config(url, broker={"url": url, "result_backend": f"{url[:-1]}1"}),
        {"version": 1, "schedules": {"tick": {"task": "sample.echo", "every": "1s"}}},
    )
    up = subprocess.Popen(
        [AIR, "up", "--grace", "20"],
        cwd=platform.root,
        env={**platform.env(), "AIR_LOG_FORMAT": "console"},  # the table a person sees
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: answers("127.0.0.1", port), timeout=20, message="the embedded Redis")
        platform.redis_url = url
        for pool in ("urgent", "default", "bulk"):
            platform.wait_ready(pool, timeout=40)
    except BaseException:
        up.kill()
        raise
    return up, port


def _still_running(processes: list[psutil.Process]) -> list[list[str]]:
    return [p.cmdline() for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_air_up_starts_redis_every_pool_and_beat_and_stops_them_all(platform: Platform) -> None:
    up, port = _up_with_embedded_redis(platform)
    try:
        descendants = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "beat" in names and "redis-server" in names
        assert (platform.root / ".air").is_dir()  # the embedded Redis keeps its data here

        up.send_signal(signal.SIGINT)
        output = up.communicate(timeout=60)[0].decode()
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert "POOL" in output and "CONCURRENCY" in output  # the start-up table
    assert "air: stopped" in output
    assert _still_running(descendants) == []
    assert not answers("127.0.0.1", port)


def test_air_up_stops_everything_when_its_output_is_gone(platform: Platform) -> None:
    # `air up 2>&1 | tee log` and a Ctrl-C: tee dies first, and every line air up writes while
    # shutting down meets a closed pipe. It used to raise there, leaving the embedded Redis
    # running with nobody to stop it.
    up, port = _up_with_embedded_redis(platform)
    try:
        descendants = psutil.Process(up.pid).children(recursive=True)
        assert up.stdout is not None
        up.stdout.close()
        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0
    assert _still_running(descendants) == []
    assert not answers("127.0.0.1", port)


def test_air_run_refuses_an_invalid_config_and_starts_nothing(platform: Platform) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.echo"] = {"queue": "urgnet"}
    platform.write(config)

    result = platform.run_air("run", "default")

    assert result.returncode == 1
    assert "AIR201" in result.stderr and "did you mean 'urgent'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    probe = Celery(broker=platform.redis_url, set_as_current=False)
    platform.apps.append(probe)
    assert ping(probe, timeout=1.0) == []  # no worker of any name came up


def test_air_send_wait_prints_the_result(platform: Platform) -> None:
    platform.start_pool("default")

    result = platform.run_air("send", "sample.echo", "--kwargs", '{"value": 42}', "--wait")

    assert result.returncode == 0, result.stderr
    task_id, *rest = result.stdout.splitlines()
    assert json.loads("\n".join(rest))["value"] == 42
    assert f"sample.echo[{task_id}] to default (priority 5)" in result.stderr


def test_air_send_without_a_broker_exits_3(platform: Platform) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    platform.write(queues_config(url))

    result = platform.run_air("send", "sample.echo")

    assert result.returncode == 3
    assert "does not answer" in result.stderr and "Traceback" not in result.stderr
