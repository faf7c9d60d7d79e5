"""What the worker benchmarks share (throughput, priority_latency, startup).

Each benchmark compares air's compiled worker with plain Celery at its defaults
(bench/peers/plain_app.py) on one private redis-server that the benchmark starts on a free
loopback port and stops at the end; the machine's own Redis is never touched. Both sides run
the same task code (bench/peers/bench_tasks.py) with the same prefork pool size, one worker at
a time, in interleaved runs.

Every process started here is a session (and process group) leader; stopping one signals its
whole group, so no pool child outlives a run, and `cleanup()` stops whatever is still running
when a benchmark ends early (error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import yaml
from _common import (
    ROOT,
    BenchError,
    environment,
    markdown_table,
    percentile,
    report,
    script,
)

from runtime.process.embedded import RedisServer, free_port

PACKAGES = ("air", "celery", "kombu", "billiard", "redis", "dramatiq")
BROKER_DB, RESULT_DB = 0, 1
SNAPSHOT_DB = 8  # snapshots of prepared backlogs live in db 8, 9, ...; runs use db 0 and 1
STARTS = "bench:starts"  # must equal bench_tasks.STARTS (not imported: that would import celery)
TASK_MODULE = "bench.peers.bench_tasks"
DOCS = ROOT / "docs" / "benchmarks.md"

# The air side of every benchmark: one queue per role, each task routed by name.
QUEUES = {"urgent": 10, "bench": 5, "low": 1}
TASK_QUEUES = {
    "bench.noop": "bench",
    "bench.mark": "bench",
    "bench.low": "low",
    "bench.urgent": "urgent",
}


# --- Redis ------------------------------------------------------------------------------------


class Broker:
    """A throw-away redis-server (no persistence) on a free 127.0.0.1 port."""

    def __init__(self, workdir: Path) -> None:
        port = free_port()
        while port == 6379:  # never the machine's own Redis, even by accident
            port = free_port()
        self.server = RedisServer(port, workdir / "redis", persistent=False)
        self.client: redis.Redis | None = None

    def start(self) -> None:
        self.server.start()
        self.client = self.db(BROKER_DB)
        # A slow reader of the result channels must never be disconnected mid-run.
        self.client.config_set("client-output-buffer-limit", "pubsub 0 0 0")

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{BROKER_DB}"

    @property
    def result_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{RESULT_DB}"

    def db(self, number: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=number, socket_timeout=30)

    def version(self) -> str:
        assert self.client is not None
        return str(self.client.info("server")["redis_version"])

    def reset(self) -> None:
        """Empty the broker and result databases (between runs; no worker is running)."""
        for number in (BROKER_DB, RESULT_DB):
            self.db(number).flushdb()

    def snapshot(self, slot: int) -> int:
        """Copy every key of the broker database (a prepared backlog) aside; returns the count."""
        return _copy_all(self.db(BROKER_DB), SNAPSHOT_DB + slot)

    def restore(self, slot: int) -> int:
        """Reset, then put a snapshot back: the same backlog, byte for byte, for every run."""
        self.reset()
        return _copy_all(self.db(SNAPSHOT_DB + slot), BROKER_DB)

    def queued(self, queue: str) -> int:
        """Messages waiting in a queue, over all of its priority lists."""
        assert self.client is not None
        keys = [k for k in self.client.scan_iter(match=f"{queue}*") if _is_queue_key(k, queue)]
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.llen(key)
            return sum(pipe.execute())

    def starts(self) -> list[dict[str, Any]]:
        assert self.client is not None
        return [json.loads(raw) for raw in self.client.lrange(STARTS, 0, -1)]

    def stop(self) -> None:
        self.server.stop()


def _copy_all(source: redis.Redis, destination_db: int) -> int:
    keys = list(source.scan_iter(count=1000))
    for key in keys:
        source.copy(key, key, destination_db=destination_db, replace=True)
    return len(keys)


def _is_queue_key(key: bytes, queue: str) -> bool:
    """kombu keeps a queue's priority p > 0 in the list `queue + '\\x06\\x16' + p`."""
    name = key.decode("utf-8", "replace")
    return name == queue or name.startswith(queue + "\x06\x16")


# --- configs and apps --------------------------------------------------------------------------


def write_air_config(directory: Path, broker: Broker, concurrencies: Iterable[int]) -> Path:
    """An air config for bench/peers/bench_tasks.py: pools `bench-cN` (queue bench) and `mixed-cN`
    (queues urgent and low) for every concurrency N. Validated by loading it."""
    pools: dict[str, Any] = {}
    for concurrency in sorted(set(concurrencies)):
        pools[f"bench-c{concurrency}"] = {"queues": ["bench"], "concurrency": concurrency}
        pools[f"mixed-c{concurrency}"] = {"queues": ["urgent", "low"], "concurrency": concurrency}
        # The same pool with task events off (`task_events: false`), to price monitoring.
        pools[f"lean-c{concurrency}"] = {
            "queues": ["bench"],
            "concurrency": concurrency,
            "task_events": False,
        }
    queues = {
        "version": 1,
        "imports": [TASK_MODULE],
        "broker": {
            "url": broker.broker_url,
            "result_backend": broker.result_url,
            "visibility_timeout": "1h",
        },
        "defaults": {"queue": "bench", "retry": {"max": 0}},
        "queues": {name: {"priority": priority} for name, priority in QUEUES.items()},
        "pools": pools,
        "tasks": {name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "queues.yaml").write_text(yaml.safe_dump(queues, sort_keys=False))
    (directory / "schedules.yaml").write_text(yaml.safe_dump({"version": 1, "schedules": {}}))
    return directory


def air_plan(config_dir: Path) -> Any:
    from runtime.compiler.compile import load_plan

    plan, _ = load_plan(config_dir)
    return plan


def air_app(config_dir: Path) -> Any:
    """The app `air send` would use: tasks routed (queue and priority) by the config."""
    from runtime.celeryapp.app import create_app

    return create_app(air_plan(config_dir))


def plain_app(broker: Broker) -> Any:
    from peers.plain_app import make_app

    return make_app(broker.broker_url, broker.result_url)


def check_broker(app: Any, broker: Broker) -> None:
    """Celery reads CELERY_BROKER_URL from the environment before its own config: make sure
    nothing redirects a sender away from the private redis-server."""
    if app.conf.broker_url != broker.broker_url:
        raise BenchError(f"app {app.main} would send to {app.conf.broker_url}, not our Redis")


def send_many(app: Any, name: str, count: int, args: Sequence[Any] = (), **options: Any) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task(name, args=list(args), producer=producer, **options)


# --- worker processes -------------------------------------------------------------------------


def worker_env(broker: Broker, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "AIR_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        AIR_CONFIG_DIR=str(config_dir),
        BENCH_BROKER_URL=broker.broker_url,
        BENCH_RESULT_BACKEND=broker.result_url,
    )
    return env


def clean_environment() -> None:
    """Drop CELERY_* variables from this process too (CELERY_BROKER_URL beats the app config)."""
    for name in [n for n in os.environ if n.startswith("CELERY_")]:
        del os.environ[name]


def air_run_argv(config_dir: Path, pool: str) -> list[str]:
    return [script("air"), "run", pool, "--config", str(config_dir)]


def air_celery_argv(config_dir: Path, pool: str) -> list[str]:
    """`air run POOL --dry-run`: the celery CLI with air's compiled worker flags."""
    argv = list(air_plan(config_dir).workers[pool].argv)
    return [script("celery"), *argv[1:]]


def plain_argv(queues: Sequence[str], concurrency: int, *extra: str) -> list[str]:
    """What a Celery user types: app, queues, pool size; every other option at its default."""
    return [
        script("celery"),
        "-A",
        "bench.peers.plain_app",
        "worker",
        "-Q",
        ",".join(queues),
        "-c",
        str(concurrency),
        *extra,
    ]


_live: list[WorkerProcess] = []


@dataclass
class WorkerProcess:
    label: str
    argv: Sequence[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    launched: float = 0.0  # time.time() just before the fork
    escalated: bool = False  # warm shutdown ran out of time and the group was killed

    def start(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.launched = time.time()
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _live.append(self)
        return self

    def check(self) -> None:
        """Abort when the worker died (a bad config, an import error...)."""
        if self.process is not None and self.process.poll() is not None:
            raise BenchError(
                f"{self.label} worker exited with {self.process.returncode}:\n{self.tail()}"
            )

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 10.0) -> None:
        """Warm shutdown (SIGTERM to the worker), then SIGKILL to its whole process group."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                self.escalated = True
        _killpg(process.pid, signal.SIGKILL)
        process.wait()
        if self in _live:
            _live.remove(self)


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def cleanup() -> None:
    """Stop every worker this process started and has not stopped yet."""
    for worker in list(_live):
        worker.stop(grace=3.0)


def raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally:` clean-up runs."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def wait_for(
    predicate: Any, timeout: float, what: str, worker: WorkerProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker is not None:
            worker.check()
        if time.monotonic() > deadline:
            tail = f"\n{worker.tail()}" if worker is not None else ""
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}{tail}")
        time.sleep(0.005)


# --- finished tasks, seen from outside -----------------------------------------------------------


@dataclass
class Completions:
    """Counts finished tasks without touching the task: Celery's Redis result backend publishes
    every result it stores on a channel named after the result's key, so a pattern subscription
    sees each SUCCESS the moment it is stored (time.time() on arrival)."""

    broker: Broker
    times: list[float] = field(default_factory=list)
    failures: int = 0

    def __post_init__(self) -> None:
        self._pubsub = self.broker.db(RESULT_DB).pubsub()
        self._pubsub.psubscribe("celery-task-meta-*")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait for the confirmation: subscribed for sure
            message = self._pubsub.get_message(timeout=1.0)
            if message and message["type"] == "psubscribe":
                break
        else:
            raise BenchError("no confirmation of the result-channel subscription")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.05)
            if not message or message["type"] != "pmessage":
                continue
            status = json.loads(message["data"]).get("status")
            if status == "SUCCESS":
                self.times.append(time.time())
            elif status in ("FAILURE", "RETRY", "REVOKED"):
                self.failures += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pubsub.close()


# --- one benchmark's private world --------------------------------------------------------------


@dataclass
class Bench:
    """A running benchmark's temp directory, private broker, machine facts and air config."""

    name: str
    marker: str  # the section of docs/benchmarks.md this benchmark rewrites
    workdir: Path
    broker: Broker
    env: dict[str, Any]
    config_dir: Path

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def worker_env(self) -> dict[str, str]:
        return worker_env(self.broker, self.config_dir)

    def report(
        self,
        args: Any,
        render: Callable[[], str],
        summary: list[dict[str, Any]],
        runs: list[dict[str, Any]],
        verdicts: list[str],
        **more: Any,
    ) -> None:
        """Raw results to bench/results/; the docs section `render` returns to the docs, unless
        --no-docs (then `render` is not called)."""
        section = None if args.no_docs else render()
        results = {"summary": summary, "runs": runs, "verdicts": verdicts, **more}
        report(self.name, args, self.env, DOCS, self.marker, section, **results)


class OnBench:
    """What a benchmark's own set-up reads from its Bench (a dataclass field `bench`)."""

    bench: Bench

    @property
    def broker(self) -> Broker:
        return self.bench.broker

    @property
    def config_dir(self) -> Path:
        return self.bench.config_dir

    @property
    def logs(self) -> Path:
        return self.bench.logs

    @property
    def env(self) -> dict[str, str]:
        return self.bench.worker_env()


@contextmanager
def private_broker(name: str, marker: str, concurrencies: Iterable[int]) -> Iterator[Bench]:
    """Start a private redis-server and write air's bench config; on the way out stop every
    worker still running and the server, and note the load average at the end."""
    clean_environment()
    raise_on_sigterm()
    with tempfile.TemporaryDirectory(prefix=f"air-bench-{name}-") as workdir:
        broker = Broker(Path(workdir))
        try:
            broker.start()
            bench = Bench(
                name,
                marker,
                Path(workdir),
                broker,
                machine(broker),
                write_air_config(Path(workdir) / "config", broker, concurrencies),
            )
            yield bench
        finally:
            cleanup()
            broker.stop()
    bench.env["load_average_end"] = load_now()

@dataclass
class Drain:
    """Watches a backlog drain from outside, for workers that store no results (air's
    `result: on_request`, Dramatiq): every POLL seconds one pipeline reads how many messages
    are still queued or delivered-but-unacknowledged. `remaining` names those keys: lists
    (LLEN) and hashes (HLEN). Also counts the Redis commands and request reads (~ round trips)
    the workers cost, from INFO, less this watcher's own."""

    broker: Broker
    lists: Sequence[str]
    hashes: Sequence[str]
    samples: list[tuple[float, int]] = field(default_factory=list)
    polls: int = 0
    POLL = 0.005

    def __post_init__(self) -> None:
        self._client = self.broker.db(BROKER_DB)
        self._client.config_resetstat()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def remaining(self) -> int:
        pipe = self._client.pipeline(transaction=False)
        for key in self.lists:
            pipe.llen(key)
        for key in self.hashes:
            pipe.hlen(key)
        self.polls += 1
        return int(sum(pipe.execute()))

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.remaining()))
            if self.samples[-1][1] == 0 and len(self.samples) > 1:
                return
            self._stop.wait(self.POLL)

    def done(self) -> bool:
        return len(self.samples) > 1 and self.samples[-1][1] == 0

    def when(self, done: int, total: int) -> float:
        """The first time at least `done` of `total` messages were finished."""
        return next(t for t, left in self.samples if total - left >= done)

    def cost(self) -> tuple[int, int]:
        """(commands, request reads) since the start, less this watcher's."""
        stats = self._client.info("stats")
        commands = sum(v["calls"] for v in self._client.info("commandstats").values())
        mine = self.polls * (len(self.lists) + len(self.hashes))
        # resetstat and two INFO (counted before this reply) are the watcher's too
        return commands - mine - 4, int(stats["total_reads_processed"]) - self.polls - 3

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def kombu_keys(queue: str) -> list[str]:
    """Every list kombu may keep a queue's messages in (ten priority steps at most)."""
    return [queue, *(f"{queue}\x06\x16{p}" for p in range(1, 10))]


# --- reporting -----------------------------------------------------------------------------------


def machine(broker: Broker) -> dict[str, Any]:
    env = environment(PACKAGES)
    env["redis_server"] = broker.version()
    return env


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def header_lines(env: dict[str, Any], extra: str) -> list[str]:
    versions = ", ".join(f"{name} {version}" for name, version in env["packages"].items())
    return [
        f"- Run: {env['date']}, commit `{env['git']}`; {extra}",
        f"- Machine: {env['cpu']}, {env['nproc']} CPUs available, {env['platform']}; load "
        f"average at start {env['load_average']}, at end {env.get('load_average_end')}.",
        f"- {env['python']}; {versions}; redis-server {env['redis_server']} (private, loopback, "
        "no persistence).",
    ]


def docs_section(
    env: dict[str, Any],
    extra: str,
    table: tuple[list[str], list[list[str]], str],
    targets: Sequence[str],
    notes: Sequence[str],
) -> list[str]:
    """The parts every worker benchmark's docs section starts with; callers may append more."""
    return [
        "\n".join(header_lines(env, extra)),
        markdown_table(*table),
        "Targets:\n\n" + "\n".join(f"- {line}" for line in targets),
        "Notes:\n\n" + "\n".join(f"- {line}" for line in notes),
    ]


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def pct_ms(values: Sequence[float], pct: float) -> str:
    return ms(percentile(values, pct)) if values else "—"
