"""`air exporter`: Prometheus metrics read at scrape time. Queue depths and ages come from the
ends of the priority lists, dead letters from a per-task counter, schedules from beat's state in
Redis (a few round trips whatever the queues hold); workers and task counts come from the event
stream a background thread keeps in a Tally."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from runtime.broker.beats import live_beats
from runtime.broker.clients import broker_client
from runtime.broker.deadletter import DeadLetterStore
from runtime.broker.fires import LAST_RUN
from runtime.broker.queues import QueueDepth, read_queues
from runtime.broker.redis_values import text
from runtime.broker.workflow_runs import STATES, WorkflowRuns
from runtime.compiler.plan import Plan, ScheduleEntry
from runtime.config import cron
from runtime.process.events import EventWatcher
from runtime.process.tally import Tally

logger = logging.getLogger("air.exporter")


class AirCollector:
    """A prometheus_client custom collector: every scrape reads the current state."""

    def __init__(self, plan: Plan, client: redis.Redis, tally: Tally) -> None:
        self.plan = plan
        self.client = client
        self.tally = tally

    def collect(self) -> Iterator[Metric]:
        yield from self._from_events()
        try:
            now = time.time()
            depths = read_queues(self.client, [q.name for q in self.plan.queues])
            dead = DeadLetterStore(self.client).count_by_task()
            last_runs = self.client.hgetall(LAST_RUN)
            beats = live_beats(self.client)
            runs = WorkflowRuns(self.client).counts()
        except redis.RedisError as exc:  # serve what the events say; Redis metrics go absent
            logger.warning("exporter: cannot read Redis: %s", exc)
            return
        yield from self._queues(depths, now)
        letters = GaugeMetricFamily(
            "air_dead_letters", "Tasks in the dead-letter store.", labels=["task"]
        )
        for task, count in sorted(dead.items()):
            letters.add_metric([task], count)
        yield letters
        yield from self._schedules({text(k): text(v) for k, v in last_runs.items()}, now)
        yield GaugeMetricFamily(
            "air_beat_up", "1 while at least one beat ticks on this broker.", value=int(bool(beats))
        )
        yield self._workflows(runs)

    def _workflows(self, runs: dict[str, dict[str, int]]) -> Metric:
        metric = GaugeMetricFamily(
            "air_workflow_runs",
            "Workflow runs by state: running now; succeeded and failed, every run that ended.",
            labels=["workflow", "state"],
        )
        for name in sorted(set(self.plan.workflows) | set(runs)):
            counts = runs.get(name, dict.fromkeys(STATES, 0))
            for state in STATES:
                metric.add_metric([name, state], counts.get(state, 0))
        return metric

    def _queues(self, depths: list[QueueDepth], now: float) -> Iterator[Metric]:
        depth = GaugeMetricFamily("air_queue_depth", "Messages waiting.", labels=["queue"])
        age = GaugeMetricFamily(
            "air_queue_oldest_age_seconds",
            "Age of the oldest stamped waiting message (0 when none waits).",
            labels=["queue"],
        )
        breached = GaugeMetricFamily(
            "air_queue_slo_breached", "1 while the queue misses its SLO.", labels=["queue", "slo"]
        )
        slos = {q.name: q for q in self.plan.queues}
        for found in depths:
            oldest = found.oldest_age(now) or 0.0
            depth.add_metric([found.name], found.depth)
            age.add_metric([found.name], oldest)
            queue = slos[found.name]
            if queue.slo_max_depth is not None:
                breached.add_metric(
                    [found.name, "max_depth"], int(found.depth > queue.slo_max_depth)
                )
            if queue.slo_max_wait is not None:
                breached.add_metric([found.name, "max_wait"], int(oldest > queue.slo_max_wait))
        yield from (depth, age, breached)

    def _from_events(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily(
            "air_pool_workers", "Live workers of the pool.", labels=["pool"]
        )
        processes = GaugeMetricFamily(
            "air_pool_processes", "Pool processes of its live workers.", labels=["pool"]
        )
        declared = {name: w.concurrency for name, w in self.plan.workers.items()}
        for pool, load in sorted(self.tally.pools(declared).items()):
            workers.add_metric([pool], len(load.workers))
            processes.add_metric([pool], load.processes)
        yield from (workers, processes)
        totals, runtimes, waits = self.tally.snapshot_totals()
        tasks = CounterMetricFamily(
            "air_tasks_total", "Tasks finished, by final state.", labels=["task", "state"]
        )
        for (task, state), count in sorted(totals.items()):
            tasks.add_metric([task, state], count)
        yield tasks
        runtime = HistogramMetricFamily(
            "air_task_runtime_seconds", "Run time of succeeded tasks.", labels=["task"]
        )
        for task, histogram in sorted(runtimes.items()):
            runtime.add_metric([task], histogram.cumulative(), histogram.total)
        yield runtime
        wait = HistogramMetricFamily(
            "air_task_wait_seconds", "Time from send to start.", labels=["queue"]
        )
        for queue, histogram in sorted(waits.items()):
            wait.add_metric([queue], histogram.cumulative(), histogram.total)
        yield wait

    def _schedules(self, last_runs: dict[str, str], now: float) -> Iterator[Metric]:
        last = GaugeMetricFamily(
            "air_schedule_last_fire_timestamp_seconds",
            "When beat last sent the schedule's task.",
            labels=["schedule"],
        )
        following = GaugeMetricFamily(
            "air_schedule_next_fire_timestamp_seconds",
            "When beat sends it next.",
            labels=["schedule"],
        )
        for name, entry in sorted(self.plan.beat.items()):
            if not entry.enabled:
                continue
            fired = _timestamp(last_runs.get(name))
            if fired is not None:
                last.add_metric([name], fired)
            upcoming = next_fire(entry, fired, now)
            if upcoming is not None:
                following.add_metric([name], upcoming)
        yield from (last, following)


def next_fire(entry: ScheduleEntry, last: float | None, now: float) -> float | None:
    """The next send time beat will choose (runtime/sending/beat.py): the next fire after
    now, `every` fires on multiples of the interval, plus the fire's own jitter."""
    moment = datetime.fromtimestamp(now, UTC)
    try:
        fire = cron.next_fire(entry.cron, entry.every, entry.timezone, moment)
    except (ValueError, OverflowError):
        return None
    return fire.timestamp() + cron.jitter_delay(entry.name, fire, entry.jitter)


def _timestamp(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


class Exporter:
    """The HTTP endpoint, the collector behind it and the event thread feeding it."""

    def __init__(self, app: Any, plan: Plan, host: str, port: int) -> None:
        self.tally = Tally(route=lambda task: plan.route(task)[0])
        self.client = broker_client(plan.celery, timeout=5, connect_timeout=2)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(AirCollector(plan, self.client, self.tally))
        self.watcher = EventWatcher(app, self.tally)
        self.host, self.port = host, port
        self._server: Any = None

    def start(self) -> Exporter:
        self.watcher.start()
        self._server, _ = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._server.server_port  # the one chosen, when asked for port 0
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.watcher.stop()
        self.client.close()
