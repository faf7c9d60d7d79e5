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
# The store_ready line, in structlog's console form or as JSON (keys in any order).
APPLIED = re.compile(r"migrations_applied\W+(\[[^\]]*\])")


def applied_in(text: str) -> list[list[str]]:
    return [
        ast.literal_eval(found)
        for line in text.splitlines()
        if "store_ready" in line
        for found in APPLIED.findall(line)
    ]


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
    logs = [log.read_text("utf-8", "replace") for _, log in platform.processes]
    applied = [found for text in logs for found in applied_in(text)]
    # One store_ready line per worker process (a pool runs one per core): exactly one applied it.
    assert len(applied) >= len(POOLS), platform.logs()
    assert sorted(applied) == [[]] * (len(applied) - 1) + [["0001"]], platform.logs()
    with store.get_engine().connect() as conn:
        assert store.current_revision(conn) == "0001"
