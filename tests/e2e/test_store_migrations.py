"""Real workers of the shipped config, started at once on an empty database, migrate it once."""

from __future__ import annotations

import ast
import re
import shutil

import pytest

from tasks import store
from tests.conftest import REPO
from tests.e2e.conftest import Platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]

POOLS = ("high-priority", "ai-tasks", "low-priority")
# worker_init logs before Celery sets up logging: structlog's console form, or JSON.
APPLIED = re.compile(r"store_ready.*migrations_applied\W+(\[[^\]]*\])")


def test_workers_starting_together_apply_each_revision_once(
    platform: Platform, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("queues.yaml", "schedules.yaml"):
        shutil.copy(REPO / "config" / name, platform.config_dir / name)
    monkeypatch.setenv("AIR_BROKER_URL", platform.redis_url)
    monkeypatch.setenv("AIR_RESULT_BACKEND", platform.redis_url)
    workers = [platform.air("run", pool, "--loglevel", "INFO", log_name=pool) for pool in POOLS]
    for pool, process in zip(POOLS, workers, strict=True):
        platform.wait_ready(pool, process, timeout=120)
    applied = [ast.literal_eval(found) for _, log in platform.processes
               for found in APPLIED.findall(log.read_text(errors="replace"))]
    assert sorted(applied) == [[], [], ["0001"]], platform.logs()
    with store.get_engine().connect() as conn:
        assert store.current_revision(conn) == "0001"
