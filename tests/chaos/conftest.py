"""Chaos fixtures: a platform on a redis-server the test owns, with an append-only file synced
on every write, so a kill -9 of Redis loses nothing it acknowledged; and the figures each test
prints (sent, completed, lost, duplicated, recovery seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from runtime.process.embedded import RedisServer, free_port
from tests.e2e.conftest import (  # noqa: F401 - the e2e fixtures and report hook, here too
    Platform,
    _platform,
    platform,
    pytest_runtest_makereport,
)


class DurableRedis(RedisServer):
    """redis-server with appendfsync always: every acknowledged write survives a kill -9."""

    def command(self) -> list[str]:
        argv = super().command()
        argv[argv.index("everysec")] = "always"
        return argv


@pytest.fixture
def durable_platform(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Platform]:
    server = DurableRedis(free_port(), tmp_path / "redis", persistent=True)
    server.start()
    try:
        yield from _platform(tmp_path, f"{server.url}/0", request, broker=server)
    finally:
        server.stop()


@pytest.fixture
def events_client(own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """Where the sample tasks log their events (AIR_TEST_EVENTS_URL): a Redis the test never
    takes down. A unit of work logging to the broker under test waits on it (redis-py retries a
    lost connection), can overrun its hard limit while Redis restarts on a loaded machine, and
    then ends as a timeout dead letter: a measure of the test's logging, not of air (seen in a
    run of the whole suite)."""
    monkeypatch.setenv("AIR_TEST_EVENTS_URL", f"{own_redis.url}/0")
    client = redis.Redis.from_url(f"{own_redis.url}/0")
    yield client
    client.close()


@dataclass
class Figures:
    """What a chaos run did to `sent` units of sample.work."""

    name: str
    sent: list[str]
    events: list[dict[str, Any]]
    recovery_s: float | None = None

    @property
    def done(self) -> list[str]:
        return [e["tag"] for e in self.events if e.get("done")]

    @property
    def lost(self) -> int:
        return len(set(self.sent) - set(self.done))

    @property
    def duplicated(self) -> int:
        return len(self.done) - len(set(self.done))

    def report(self) -> str:
        recovery = f"{self.recovery_s:.1f} s" if self.recovery_s is not None else "-"
        line = (
            f"chaos {self.name}: sent {len(self.sent)}, completed {len(set(self.done))}, "
            f"lost {self.lost}, duplicated {self.duplicated}, recovery {recovery}"
        )
        print(line)
        return line


def work_events(client: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in client.lrange("events:work", 0, -1)]
