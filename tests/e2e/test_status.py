"""`air status` against real workers: each drift flag (a pool with no worker, a worker consuming
a queue its pool does not declare, a different concurrency, a worker started from another
config), the workers per pool, and a queue's depth with an unknown age."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import Platform, ping, queues_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(150)]

CELERY = str(Path(sys.executable).parent / "celery")


def celery_worker(platform: Platform, name: str, *args: str) -> None:
    """A worker started by plain `celery -A runtime.celeryapp.app worker`, not by `air run`."""
    log = platform.root / f"celery-{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                CELERY,
                "-A",
                "runtime.celeryapp.app",
                "worker",
                "--hostname",
                name,
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
                *args,
            ],
            cwd=REPO,
            env=platform.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    platform.processes.append((process, log))


def test_status_flags_every_drift(platform: Platform, redis_client: Any) -> None:
    config = queues_config(platform.redis_url)
    config["queues"]["spare"] = {"priority": 2, "slo": {"max_depth": 10}}
    config["pools"]["spare"] = {"queues": ["spare"], "concurrency": 1}
    platform.write(config)
    # The same pool from an edited copy of the config: its checksum differs from the one on disk.
    other = platform.root / "other"
    shutil.copytree(platform.config_dir, other)
    with open(other / "queues.yaml", "a") as out:
        out.write("# edited after the worker started\n")
    host = socket.gethostname()
    process = platform.air("--config", str(other), "run", "default", log_name="default-other")
    celery_worker(platform, "urgent@%h-extra", "-Q", "urgent,bulk", "-c", "1")
    celery_worker(platform, "bulk@%h", "-Q", "bulk", "-c", "3")
    platform.wait_ready("default", process)
    app = platform.app()
    for node in (f"urgent@{host}-extra", f"bulk@{host}"):
        wait_until(lambda n=node: ping(app, [n], timeout=0.3), 30, message=f"{node} to answer")
    # A message from a plain client, without air's send stamp, on the base list (the most urgent
    # Redis priority): counted, age unknown.
    redis_client.lpush("spare", json.dumps({"body": "", "headers": {}, "properties": {}}))

    done = platform.run_air("status", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    drift = {(d["kind"], d["subject"]) for d in report["drift"]}
    assert drift == {
        ("no_worker", "spare"),
        ("queues", f"urgent@{host}-extra"),
        ("concurrency", f"bulk@{host}"),
        ("config", f"default@{host}"),
    }
    pools = {p["pool"]: p for p in report["pools"]}
    assert [w["node"] for w in pools["urgent"]["workers"]] == [f"urgent@{host}-extra"]
    assert pools["urgent"]["workers"][0]["queues"] == ["bulk", "urgent"]
    assert pools["bulk"]["workers"][0]["concurrency"] == 3
    assert pools["default"]["workers"][0]["processes"] == 2
    spare = next(q for q in report["queues"] if q["queue"] == "spare")
    assert (spare["depth"], spare["oldest_age_seconds"], spare["unstamped"]) == (1, None, True)

    text = platform.run_air("status")
    assert text.returncode == 0
    assert "drift: 4" in text.stdout
    assert "consumes bulk, not declared for pool 'urgent'" in text.stdout
    assert f"bulk@{host} runs concurrency 3, the config says 1" in text.stdout
    assert "pool 'spare' has no live worker" in text.stdout
    assert f"default@{host} was started from config" in text.stdout
    spare_row = next(line for line in text.stdout.splitlines() if line.startswith("spare "))
    assert "(no worker)" in spare_row
    assert any(
        line.split()[:4] == ["spare", "1", "p10:1", "unknown"] for line in text.stdout.splitlines()
    )
