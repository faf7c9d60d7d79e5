"""Time limits, retries with the configured delays, and the dead-letter store."""

from __future__ import annotations

import pytest
from celery.exceptions import TimeLimitExceeded

from runtime.broker.deadletter import DeadLetterStore
from tests.e2e.conftest import Platform, events, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

FLAKY = "tests.e2e.sample_tasks.Flaky"


def test_soft_limit_raises_inside_the_task(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.soft_limited"] = {"time_limit": {"soft": "0.5s", "hard": "5s"}}
    platform.write(config)
    platform.start_pool("default")

    result = platform.app().send_task("sample.soft_limited", args=["soft", 3.0])

    assert result.get(timeout=20) == "cleaned up after the soft limit"
    assert [e["soft_limit"] for e in events(redis_client, "soft")] == [True]


def test_hard_limit_kills_the_task_and_the_pool_keeps_working(
    platform: Platform, redis_client
) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.hang"] = {"time_limit": {"soft": "0.5s", "hard": "1s"}}
    platform.write(config)
    platform.start_pool("default")
    app = platform.app()

    hung = app.send_task("sample.hang", args=["hang", 30.0])
    with pytest.raises(TimeLimitExceeded):
        hung.get(timeout=20)
    assert app.send_task("sample.echo", args=["after"]).get(timeout=20)["value"] == "after"

    letter = wait_until(
        lambda: DeadLetterStore.from_url(platform.redis_url).get(hung.id), message="the dead letter"
    )
    assert (letter.task, letter.reason) == ("sample.hang", "timeout")
    assert len(events(redis_client, "hang")) == 1  # acked and failed, never redelivered


def test_retries_follow_the_configured_delays(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.flaky"] = {
        "retry": {
            "max": 3,
            "backoff": "exponential",
            "initial": "0.5s",
            "max_delay": "10s",
            "jitter": False,
            "errors": [FLAKY],
        }
    }
    platform.write(config)
    platform.start_pool("default")

    result = platform.app().send_task("sample.flaky", args=["flaky", 3])

    assert result.get(timeout=30) == 3
    attempts = events(redis_client, "flaky")
    assert [a["retries"] for a in attempts] == [0, 1, 2, 3]
    gaps = [b["at"] - a["at"] for a, b in zip(attempts, attempts[1:], strict=False)]
    # Exponential from 0.5 s: 0.5, 1, 2. Tolerance: never early, at most 0.75 s late
    # (ETA timer resolution plus delivery on a loaded 2-core machine).
    for gap, expected in zip(gaps, [0.5, 1.0, 2.0], strict=True):
        assert expected - 0.05 <= gap <= expected + 0.75, gaps


def test_exhausted_retries_end_in_the_dead_letter_store(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.always_fails"] = {
        "retry": {
            "max": 2,
            "backoff": "fixed",
            "initial": "0.2s",
            "jitter": False,
            "errors": [FLAKY],
        }
    }
    platform.write(config)
    platform.start_pool("default")
    app = platform.app()

    result = app.send_task("sample.always_fails", args=["doomed"], kwargs={})
    with pytest.raises(Exception, match="fails every time"):
        result.get(timeout=30)

    store = DeadLetterStore.from_url(platform.redis_url)
    letter = wait_until(lambda: store.get(result.id), message="the dead letter")
    assert (letter.task, letter.reason, letter.retries) == ("sample.always_fails", "failed", 2)
    assert letter.args == ["doomed"] and letter.queue == "default"
    assert "Flaky" in letter.exception and "fails every time" in letter.traceback
    assert [a["retries"] for a in events(redis_client, "doomed")] == [0, 1, 2]

    # Replay sends it again with the same arguments: it fails again and comes back.
    replayed = platform.run_air("dead", "replay", result.id)
    assert replayed.returncode == 0, replayed.stderr
    new_id = replayed.stdout.split()[-1]
    wait_until(lambda: store.get(new_id), timeout=30, message="the replayed task to fail again")
    assert store.get(result.id) is None


def test_errors_not_listed_are_not_retried(platform: Platform, redis_client) -> None:
    config = queues_config(platform.redis_url)
    config["tasks"]["sample.always_fails"] = {
        "retry": {"max": 5, "initial": "0.2s", "errors": ["ConnectionError"]}
    }
    platform.write(config)
    platform.start_pool("default")

    result = platform.app().send_task("sample.always_fails", args=["once"])
    with pytest.raises(Exception, match="fails every time"):
        result.get(timeout=20)
    assert len(events(redis_client, "once")) == 1
