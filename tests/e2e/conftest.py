"""End-to-end fixtures: a config directory pointing at the test Redis, and real `air` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from runtime.compiler.compile import load_plan
from runtime.process.embedded import RedisServer
from tests.conftest import REPO
from tests.waiting import wait_until

AIR = str(Path(sys.executable).parent / "air")
SAMPLE = "tests.e2e.sample_tasks"
ALL_SAMPLE_TASKS = [
    "sample.echo",
    "sample.record",
    "sample.flaky",
    "sample.always_fails",
    "sample.soft_limited",
    "sample.hang",
    "sample.die_once",
    "sample.slow",
    "sample.step",
    "sample.fail_first",
    "sample.work",
    "sample.die_always",
    "sample.counted",
]


def queues_config(redis_url: str, **overrides: Any) -> dict[str, Any]:
    """A small valid queues.yaml for tests: two queues, one pool each, every sample task."""
    config: dict[str, Any] = {
        "version": 1,
        "imports": [SAMPLE],
        "broker": {"url": redis_url, "visibility_timeout": "1h"},
        "defaults": {
            "queue": "default",
            "time_limit": {"soft": "20s", "hard": "30s"},
            "retry": {"max": 0},
            "result": "always",  # tests read results; on_request: tests/e2e/test_results.py
        },
        "queues": {"urgent": {"priority": 10}, "default": {"priority": 5}, "bulk": {"priority": 1}},
        # One worker process per pool (prefork for default): most tests reason about one node
        # per pool; pools of several processes are tests/e2e/test_fast_pool.py's, and the
        # shipped config's (test_platform.py) run at the default of one process per core.
        "pools": {
            "urgent": {"queues": ["urgent"], "concurrency": 1, "processes": 1},
            "default": {"queues": ["default"], "concurrency": 2, "processes": 1},
            "bulk": {"queues": ["bulk"], "concurrency": 1, "processes": 1},
        },
        "tasks": {name: {} for name in ALL_SAMPLE_TASKS},
    }
    config.update(overrides)
    return config


@dataclass
class Platform:
    """One test's config directory and the air processes started against it."""

    root: Path
    redis_url: str
    broker: RedisServer | None = None  # set when the test owns the redis-server
    processes: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)
    # Celery apps this test built: closed at the end, so no broker connection (and no after-fork
    # hook that would use one) outlives the test.
    apps: list[Any] = field(default_factory=list)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def write(
        self,
        queues: dict[str, Any],
        schedules: dict[str, Any] | None = None,
        workflows: dict[str, Any] | None = None,
    ) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "queues.yaml").write_text(yaml.safe_dump(queues, sort_keys=False))
        (self.config_dir / "schedules.yaml").write_text(
            yaml.safe_dump(schedules or {"version": 1, "schedules": {}}, sort_keys=False)
        )
        if workflows is not None:
            (self.config_dir / "workflows.yaml").write_text(
                yaml.safe_dump({"version": 1, "workflows": workflows}, sort_keys=False)
            )

    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            AIR_CONFIG_DIR=str(self.config_dir),
            AIR_STATE_DIR=str(self.root / "state"),
            PYTHONPATH=str(REPO),
            PYTHONUNBUFFERED="1",
        )

    def air(self, *args: str, log_name: str | None = None) -> subprocess.Popen[bytes]:
        """Start `air ARGS...` in the background, output in a log file."""
        log = self.root / f"{log_name or args[0]}-{len(self.processes)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [AIR, *args],
                cwd=REPO,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append((process, log))
        return process

    def run_air(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AIR, *args], cwd=REPO, env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def app(self) -> Any:
        from runtime.celeryapp.app import create_app

        plan, _ = load_plan(self.config_dir)
        app = create_app(plan)
        self.apps.append(app)
        return app

    def start_pool(self, pool: str, timeout: float = 30) -> subprocess.Popen[bytes]:
        process = self.air("run", pool, log_name=pool)
        self.wait_ready(pool, process, timeout)
        return process

    def wait_ready(
        self, pool: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30
    ) -> None:
        app = self.app()
        names = self.nodenames(pool)

        def answered() -> bool:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{pool} exited with {process.returncode}:\n{self.logs()}")
            return len(ping(app, names, timeout=0.3)) == len(names)

        wait_until(answered, timeout, message=f"workers {', '.join(names)} to answer ping")

    def nodenames(self, pool: str) -> list[str]:
        """The node name of each of the pool's processes."""
        plan, _ = load_plan(self.config_dir)
        host = socket.gethostname()
        return [name.replace("%h", host) for name in plan.workers[pool].hostnames]

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for _, log in self.processes
            if log.exists()
        )

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                _signal(process, signal.SIGTERM)
        for process, _ in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                pass
            _signal(process, signal.SIGKILL)  # the group: pool children included
            process.wait()
        for app in self.apps:
            app.close()


def ping(app: Any, destination: list[str] | None = None, timeout: float = 0.5) -> list[Any]:
    """`inspect ping` on a connection of its own, closed afterwards. A pooled connection would
    go back to the pool mid-BRPOP, and kombu's after-fork cleanup in any later forked child of
    this process (tests/store/test_fork.py) would then block reading that socket."""
    with app.connection_for_write() as connection:
        replies: list[Any] = app.control.ping(destination=destination, timeout=timeout,
                                              connection=connection)
        return replies


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _platform(
    root: Path, url: str, request: pytest.FixtureRequest, broker: RedisServer | None = None
) -> Iterator[Platform]:
    """A platform with the default test config; its logs are printed when the test fails."""
    platform = Platform(root, url, broker=broker)
    platform.write(queues_config(url))
    yield platform
    platform.stop_all()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print(platform.logs())


@pytest.fixture
def platform(tmp_path: Path, redis_url: str, request: pytest.FixtureRequest) -> Iterator[Platform]:
    yield from _platform(tmp_path, redis_url, request)


@pytest.fixture
def crashable_platform(
    tmp_path: Path, own_redis: RedisServer, request: pytest.FixtureRequest
) -> Iterator[Platform]:
    """A platform on a redis-server of this test's own, which it may kill and restart
    (`platform.broker`)."""
    yield from _platform(tmp_path, f"{own_redis.url}/0", request, broker=own_redis)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def events(client: redis.Redis, key: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in client.lrange(f"events:{key}", 0, -1)]
