"""Routing: a task reaches its declared queue and only the pool that owns the queue runs it."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.conftest import Platform, events, queues_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def test_task_runs_only_on_the_pool_owning_its_queue(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.echo"] = {"queue": "bulk"}
    platform.write(config)
    platform.start_pool("default")
    platform.start_pool("bulk")
    app = platform.app()

    results = [app.send_task("sample.echo", args=[i]) for i in range(6)]
    values = [r.get(timeout=20) for r in results]

    host = socket.gethostname()
    assert {v["queue"] for v in values} == {"bulk"}
    assert {v["worker"] for v in values} == {f"bulk@{host}"}
    assert [e["value"] for e in events(redis_client, "echo")] == list(range(6))
