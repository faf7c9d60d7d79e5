"""What the task events and worker heartbeats say, counted: the live workers of each pool, task
totals, runtime and wait histograms, and per-queue flow over a sliding window. Pure: the event
stream is fed in (runtime/process/events.py); `air monitor` and `air exporter` read it."""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.compiler.workers import pool_of

# Seconds; the same ladder for wait and runtime, from a no-op task to an hour-long export.
BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)
STATES = {
    "task-succeeded": "succeeded",
    "task-failed": "failed",
    "task-retried": "retried",
    "task-rejected": "rejected",
}
FINISHED = {*STATES, "task-revoked"}
GONE_AFTER = 2.5  # heartbeat intervals without a heartbeat before a worker counts as gone
RATE_WINDOW = 10.0  # seconds of completions behind tasks/s
SAMPLE_WINDOW = 60.0  # seconds of waits behind p50/p99
MEMORY = 10_000  # task ids remembered (name, running): bounded, whatever is lost


@dataclass(slots=True)
class Worker:
    hostname: str
    seen: float  # clock() of the last heartbeat
    freq: float = 2.0
    active: int = 0
    processed: int = 0
    processes: int | None = None  # pool size, from air's heartbeats; None from a plain worker


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(BUCKETS, value)
        if index < len(BUCKETS):
            self.counts[index] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or below it), ending with +Inf, as Prometheus has it."""
        running, found = 0, []
        for bound, count in zip(BUCKETS, self.counts, strict=True):
            running += count
            found.append((repr(bound), running))
        found.append(("+Inf", self.count))
        return found


@dataclass(frozen=True, slots=True)
class PoolLoad:
    workers: tuple[str, ...]  # host names of the live workers
    processes: int
    busy: int


@dataclass(frozen=True, slots=True)
class QueueFlow:
    rate: float  # tasks finished per second over RATE_WINDOW
    running: int
    failed: int  # since the tally started
    wait_p50: float | None
    wait_p99: float | None


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of `values` (unsorted), or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.5) - 1))]


class Tally:
    """Thread-safe: one thread feeds events, others read."""

    def __init__(
        self,
        route: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.route = route  # task name -> queue, for events that do not name their queue
        self.clock = clock
        self.lock = threading.Lock()
        self.workers: dict[str, Worker] = {}
        self.totals: dict[tuple[str, str], int] = {}
        self.runtime: dict[str, Histogram] = {}
        self.wait: dict[str, Histogram] = {}
        self.failed: dict[str, int] = {}
        self._names: OrderedDict[str, str] = OrderedDict()  # task id -> task name
        self._running: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id -> (queue, host)
        self._done: deque[tuple[float, str]] = deque(maxlen=MEMORY * 10)  # (clock, queue)
        self._waits: deque[tuple[float, str, float]] = deque(maxlen=MEMORY * 10)

    def event(self, event: Mapping[str, Any]) -> None:
        kind = str(event.get("type", ""))
        with self.lock:
            if kind.startswith("worker-"):
                self._worker(kind, event)
            elif kind.startswith("task-"):
                self._task(kind, event)

    def _worker(self, kind: str, event: Mapping[str, Any]) -> None:
        hostname = str(event.get("hostname", ""))
        if kind == "worker-offline":
            self.workers.pop(hostname, None)
            self._forget_host(hostname)
            return
        worker = self.workers.setdefault(hostname, Worker(hostname, self.clock()))
        worker.seen = self.clock()
        worker.freq = float(event.get("freq") or worker.freq)
        worker.active = int(event.get("active") or 0)
        worker.processed = int(event.get("processed") or 0)
        processes = event.get("air_processes")
        worker.processes = int(processes) if isinstance(processes, int) else worker.processes

    def _task(self, kind: str, event: Mapping[str, Any]) -> None:
        uuid = str(event.get("uuid", ""))
        name = event.get("air_task") or event.get("name") or self._names.get(uuid)
        if name:
            _remember(self._names, uuid, str(name))
        queue = str(
            event.get("air_queue") or (self.route(str(name)) if name and self.route else "") or ""
        )
        now = self.clock()
        if kind == "task-started":
            _remember(self._running, uuid, (queue, str(event.get("hostname", ""))))
            wait = event.get("air_wait")
            if isinstance(wait, int | float):
                self.wait.setdefault(queue, Histogram()).observe(float(wait))
                self._waits.append((now, queue, float(wait)))
        if kind not in FINISHED:
            return
        started = self._running.pop(uuid, None)
        queue = queue or (started[0] if started else "")
        state = STATES.get(kind)
        if state and name:
            key = (str(name), state)
            self.totals[key] = self.totals.get(key, 0) + 1
        if kind == "task-succeeded" and name and isinstance(event.get("runtime"), int | float):
            self.runtime.setdefault(str(name), Histogram()).observe(float(event["runtime"]))
        if kind == "task-failed":
            self.failed[queue] = self.failed.get(queue, 0) + 1
        if kind != "task-retried":  # a retry is not done: it comes back as a new run
            self._done.append((now, queue))

    def _forget_host(self, hostname: str) -> None:
        for uuid in [u for u, (_, host) in self._running.items() if host == hostname]:
            del self._running[uuid]

    def live_workers(self) -> list[Worker]:
        """Workers whose last heartbeat is younger than GONE_AFTER of their intervals."""
        now = self.clock()
        with self.lock:
            for hostname, worker in list(self.workers.items()):
                if now - worker.seen > GONE_AFTER * worker.freq:
                    del self.workers[hostname]
                    self._forget_host(hostname)
            return list(self.workers.values())

    def pools(self, declared: Mapping[str, int]) -> dict[str, PoolLoad]:
        """Load of every declared pool (pool -> its YAML concurrency) and of any other pool a
        live worker names; a worker whose heartbeat lacks its pool size counts the YAML's."""
        members: dict[str, list[Worker]] = {name: [] for name in declared}
        for worker in self.live_workers():
            pool = pool_of(worker.hostname)
            if pool is not None:
                members.setdefault(pool, []).append(worker)
        return {
            pool: PoolLoad(
                workers=tuple(sorted(w.hostname for w in workers)),
                processes=sum(
                    w.processes if w.processes is not None else declared.get(pool, 0)
                    for w in workers
                ),
                busy=sum(w.active for w in workers),
            )
            for pool, workers in members.items()
        }

    def flows(self, queues: list[str]) -> dict[str, QueueFlow]:
        now = self.clock()
        with self.lock:
            while self._done and now - self._done[0][0] > RATE_WINDOW:
                self._done.popleft()
            while self._waits and now - self._waits[0][0] > SAMPLE_WINDOW:
                self._waits.popleft()
            finished = [q for _, q in self._done]
            running = [q for q, _ in self._running.values()]
            waits: dict[str, list[float]] = {}
            for _, queue, wait in self._waits:
                waits.setdefault(queue, []).append(wait)
            failed = dict(self.failed)
        return {
            queue: QueueFlow(
                rate=finished.count(queue) / RATE_WINDOW,
                running=running.count(queue),
                failed=failed.get(queue, 0),
                wait_p50=percentile(waits.get(queue, []), 0.50),
                wait_p99=percentile(waits.get(queue, []), 0.99),
            )
            for queue in queues
        }

    def snapshot_totals(
        self,
    ) -> tuple[dict[tuple[str, str], int], dict[str, Histogram], dict[str, Histogram]]:
        """Copies of the task totals and the runtime (by task) and wait (by queue) histograms."""
        with self.lock:
            copy = {k: Histogram(list(h.counts), h.total, h.count) for k, h in self.runtime.items()}
            waits = {k: Histogram(list(h.counts), h.total, h.count) for k, h in self.wait.items()}
            return dict(self.totals), copy, waits


def _remember(memory: OrderedDict[str, Any], key: str, value: Any) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > MEMORY:
        memory.popitem(last=False)
