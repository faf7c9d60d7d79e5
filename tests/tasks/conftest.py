"""Fixtures for task tests: the shipped config's Celery app on the test Redis, and the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.celeryapp.app import create_app
from runtime.compiler.compile import load_plan
from tests.conftest import REPO


@pytest.fixture
def air_app(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The app built from config/ exactly as a worker builds it, broker on the test Redis.

    `task.apply(...)` runs a task eagerly through AirTask (its retry policy included) in this
    process; dead letters land in the test Redis.
    """
    monkeypatch.setenv("AIR_BROKER_URL", redis_url)
    monkeypatch.setenv("AIR_RESULT_BACKEND", redis_url)
    plan, _ = load_plan(REPO / "config")
    app = create_app(plan)
    yield app
