"""Reaching Redis: a bounded PING that tells nothing-there from not-Redis, and a bounded wait."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from runtime.broker import reach
from runtime.config.errors import BrokerUnreachable
from runtime.process.embedded import RedisServer, free_port
from tests.nonredis import serving

pytestmark = pytest.mark.timeout(60)


def test_ping_returns_when_redis_answers(redis_url: str) -> None:
    reach.ping(redis_url)


def test_nothing_listening_is_no_answer() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"

    with pytest.raises(reach.NoAnswer) as caught:
        reach.ping(url, what="result backend")

    assert caught.value.exit_code == 3
    assert caught.value.message.startswith("the result backend at redis://:***@127.0.0.1:")
    assert "does not answer" in caught.value.message and "s3cret" not in caught.value.message


@pytest.mark.parametrize("kind", ["nonsense", "http"])
def test_a_server_that_is_not_redis_is_named_so(kind: str) -> None:
    with serving(kind) as url, pytest.raises(BrokerUnreachable) as caught:
        reach.ping(url)

    assert not isinstance(caught.value, reach.NoAnswer)
    assert caught.value.exit_code == 3
    assert "but not Redis" in caught.value.message


def test_wait_says_it_waits_then_gives_up_after_the_bound() -> None:
    heard: list[str] = []
    began = time.monotonic()

    with pytest.raises(reach.NoAnswer) as caught:
        reach.wait(f"redis://127.0.0.1:{free_port()}/0", 1.0, on_wait=heard.append, poll=0.2)

    assert 1.0 <= time.monotonic() - began < 5
    assert len(heard) == 1 and heard[0].startswith("waiting up to 1s for the broker at redis://")
    assert caught.value.message.startswith("gave up after 1s: the broker at")


def test_wait_does_not_wait_for_something_that_is_not_redis() -> None:
    heard: list[str] = []
    with serving("http") as url, pytest.raises(BrokerUnreachable) as caught:
        reach.wait(url, 30.0, on_wait=heard.append)

    assert "but not Redis" in caught.value.message and heard == []


def test_wait_returns_once_redis_comes_up(tmp_path: Path) -> None:
    server = RedisServer(free_port(), tmp_path, persistent=False)
    heard: list[str] = []
    late_start = threading.Timer(1.0, server.start)
    late_start.start()
    try:
        reach.wait(f"{server.url}/0", 30.0, on_wait=heard.append, poll=0.2)
    finally:
        late_start.join()
        server.stop()

    assert len(heard) == 1  # it did wait, and said so once


def test_no_sentinel_answering_is_one_short_line_without_secrets() -> None:
    url = f"sentinel://:s3cret@127.0.0.1:{free_port()}/0;sentinel://127.0.0.1:{free_port()}"
    options = {"master_name": "mymaster", "sentinel_kwargs": {"password": "sentinel-pw"}}
    with pytest.raises(reach.NoAnswer) as caught:
        reach.ping(url, 1.0, options=options)
    message = caught.value.message
    assert message.endswith("no Sentinel named master 'mymaster'")
    assert "s3cret" not in message and "sentinel-pw" not in message and "\n" not in message
