"""A platform on a persistent redis-server of the test's own: stopping and restarting it is an
outage, not a data loss (the append-only file keeps beat's cursors and the queued messages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.process.embedded import RedisServer, free_port
from tests.e2e.conftest import Platform, _platform


@pytest.fixture
def durable_platform(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Platform]:
    server = RedisServer(free_port(), tmp_path / "redis", persistent=True)
    server.start()
    try:
        yield from _platform(tmp_path, f"{server.url}/0", request, broker=server)
    finally:
        server.stop()
