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
