"""Results cost Redis work only when someone asks for them (`result: on_request`)."""

from __future__ import annotations

import json

import pytest
import redis

from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _on_request(platform: Platform) -> None:
    config = queues_config(platform.redis_url)
    del config["defaults"]["result"]  # the built-in default: on_request
    platform.write(config)
    platform.start_pool("default")


def test_a_result_nobody_asked_for_is_not_stored_and_sending_subscribes_to_nothing(
    platform: Platform, redis_client: redis.Redis
) -> None:
    _on_request(platform)
    app = platform.app()
    redis_client.config_resetstat()
    sent = [app.send_task("sample.echo", args=[i]) for i in range(5)]
    wait_until(lambda: len(events(redis_client, "echo")) == 5, message="the tasks to run")

    stats = redis_client.info("commandstats")
    assert "cmdstat_subscribe" not in stats and "cmdstat_unsubscribe" not in stats
    wait_until(lambda: redis_client.hlen("unacked") == 0, timeout=2, message="the acks")
    assert not any(redis_client.exists(f"celery-task-meta-{r.id}") for r in sent)


def test_a_sender_that_asks_gets_the_result(platform: Platform, redis_client: redis.Redis) -> None:
    _on_request(platform)
    asked = platform.app().send_task("sample.echo", args=["asked"], ignore_result=False)
    assert asked.get(timeout=20)["value"] == "asked"


def test_air_send_wait_asks_for_the_result(platform: Platform) -> None:
    _on_request(platform)
    sent = platform.run_air("send", "sample.echo", "--args", '["cli"]', "--wait")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout.split("\n", 1)[1])["value"] == "cli"
