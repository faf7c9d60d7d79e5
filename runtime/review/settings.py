"""Every effective setting of an object, with where it came from and what it became in Celery.

One flat view of a compiled config: `air explain` prints it, `air plan` diffs two of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from runtime.compiler.plan import Plan
from runtime.compiler.workers import WORKER_FLAGS
from runtime.config import pointer as ptr
from runtime.config.model import Config, Origin
from runtime.config.redact import MASK, redact
from runtime.config.source import Document
from runtime.config.units import format_duration, redis_priority

KINDS = ("broker", "queue", "pool", "task", "schedule", "workflow")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an effective value came from: a line of a file, a `defaults:` entry, air's
    built-in default, or another setting it follows."""

    kind: str  # file | defaults | builtin | derived
    file: str = ""
    line: int = 0
    col: int = 0
    pointer: str = ""
    note: str = ""

    @property
    def position(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.file else ""

    def __str__(self) -> str:
        if self.kind == "file":
            return self.position
        if self.kind == "defaults":
            key = ".".join(ptr.split(self.pointer)[1:])
            return f"defaults.{key} ({self.position})"
        if self.kind == "derived":
            return self.note
        return "air default"

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "file": self.file or None,
            "line": self.line or None,
            "col": self.col or None,
            "pointer": self.pointer or None,
            "text": str(self),
        }


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    value: Any  # plain, comparable (what the plan holds)
    shown: str  # as a user writes it: 30s, true, [a, b]
    source: Source
    target: str  # the Celery setting or worker flag it became


@dataclass(frozen=True, slots=True)
class Item:
    """One queue, pool, task or schedule (or the broker) and its effective settings."""

    kind: str
    name: str
    source: Source  # where it is declared
    settings: Mapping[str, Setting]


def show(value: Any, *, duration: bool = False) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if duration and isinstance(value, int | float):
        return format_duration(timedelta(seconds=value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _names(names: list[str], listed: int = 3) -> str:
    if len(names) <= listed:
        return show(names)
    return f"[{', '.join(names[:listed])}, ... ({len(names)} in all)]"


class Locator:
    """Positions of origins in the documents one validation read."""

    def __init__(self, docs: Mapping[str, Document]) -> None:
        self.docs = {doc.path: doc for doc in docs.values()}

    def written(self, origin: Origin) -> bool:
        doc = self.docs.get(origin.file)
        return doc is not None and origin.pointer in doc.values

    def source(self, origin: Origin) -> Source:
        """The file position when the origin was written, else air's built-in default."""
        if not self.written(origin):
            return Source("builtin")
        mark = self.docs[origin.file].mark(origin.pointer)
        kind = "defaults" if origin.pointer.startswith("/defaults/") else "file"
        return Source(kind, origin.file, mark.line, mark.col, origin.pointer)

    def declared(self, origin: Origin) -> Source:
        mark = self.docs[origin.file].mark(origin.pointer, key=True)
        return Source("file", origin.file, mark.line, mark.col, origin.pointer)


def _item(kind: str, name: str, source: Source, settings: list[Setting]) -> Item:
    return Item(kind, name, source, {s.key: s for s in settings})


def broker_item(config: Config, where: Locator) -> Item:
    broker = config.broker
    at = broker.origin.at
    backend = where.source(at("result_backend"))
    if backend.kind == "builtin":
        backend = Source("derived", note="the broker url (no result_backend set)")
    transport = "broker_transport_options.visibility_timeout"
    vt, expires = broker.visibility_timeout.total_seconds(), broker.result_expires.total_seconds()
    settings = [
        Setting(
            "url", redact(broker.url), redact(broker.url), where.source(at("url")), "broker_url"
        ),
        Setting(
            "result_backend",
            redact(broker.result_backend),
            redact(broker.result_backend),
            backend,
            "result_backend",
        ),
        Setting(
            "visibility_timeout",
            vt,
            show(vt, duration=True),
            where.source(at("visibility_timeout")),
            transport,
        ),
        Setting(
            "result_expires",
            expires,
            show(expires, duration=True),
            where.source(at("result_expires")),
            "result_expires",
        ),
    ]
    if broker.sentinel is not None:
        sentinel = broker.sentinel
        settings += [
            Setting(
                "sentinel.master_name",
                sentinel.master_name,
                sentinel.master_name,
                where.source(at("sentinel", "master_name")),
                "broker_transport_options.master_name (and the result backend's)",
            ),
            Setting(  # never the password itself: only whether one is set
                "sentinel.password",
                MASK if sentinel.password else "",
                MASK if sentinel.password else "(none)",
                where.source(at("sentinel", "password")),
                "broker_transport_options.sentinel_kwargs.password",
            ),
        ]
    source = where.declared(broker.origin) if where.written(broker.origin) else Source("builtin")
    return _item("broker", "broker", source, settings)


def queue_item(
    name: str, config: Config, plan: Plan, where: Locator, consumers: list[str], routed: list[str]
) -> Item:
    queue = config.queues[name]
    planned = next(q for q in plan.queues if q.name == name)
    derived = Source("derived", note="the pools that list it")
    settings = [
        Setting(
            "priority",
            planned.priority,
            str(planned.priority),
            where.source(queue.origin.at("priority")),
            f"Redis priority {planned.broker_priority} for the tasks routed here (task_routes)",
        ),
        Setting("consumers", consumers, _names(consumers), derived, "--queues of those pools"),
        Setting(
            "tasks",
            routed,
            _names(routed),
            Source("derived", note="the tasks whose queue it is"),
            "task_routes",
        ),
    ]
    return _item("queue", name, where.declared(queue.origin), settings)


_POOL_KEYS = (
    "queues",
    "concurrency",
    "autoscale",
    "max_tasks_per_child",
    "max_memory_per_child",
    "prefetch_multiplier",
    "pool",
    "task_events",
)


def pool_item(name: str, config: Config, plan: Plan, where: Locator) -> Item:
    pool = config.pools[name]
    worker = plan.workers[name]
    values: dict[str, Any] = {
        "queues": list(worker.queues),
        "concurrency": None if pool.autoscale else pool.concurrency,
        "autoscale": {"min": pool.autoscale.min, "max": pool.autoscale.max}
        if pool.autoscale
        else None,
        "max_tasks_per_child": pool.max_tasks_per_child,
        "max_memory_per_child": pool.max_memory_per_child,
        "prefetch_multiplier": pool.prefetch_multiplier,
        "pool": worker.options.get("pool"),
        "task_events": pool.task_events,
    }
    each = f" on each of {worker.processes} processes" if worker.processes > 1 else ""
    settings = []
    for key in _POOL_KEYS:
        option = worker.options.get(key)
        flag = WORKER_FLAGS[key]
        if option is None or option is False:
            target = f"{flag} not passed"
        elif option is True:
            target = flag
        else:
            target = f"{flag} {show(option).strip('[]').replace(', ', ',')}"
        shown = show(values[key])
        if key == "max_memory_per_child" and values[key] is not None:
            shown = f"{values[key]}KiB"
        if key in ("concurrency", "pool") and option is not None:
            target += each
        settings.append(Setting(key, values[key], shown, where.source(pool.origin.at(key)), target))
    settings.append(
        Setting(
            "processes",
            worker.processes,
            show(worker.processes),
            where.source(pool.origin.at("processes")),
            f"`air run {name}` starts {worker.processes} worker process(es): "
            + ", ".join(worker.hostnames),
        )
    )
    return _item("pool", name, where.declared(pool.origin), settings)


def task_item(name: str, config: Config, plan: Plan, where: Locator) -> Item:
    task = config.tasks[name]
    planned = plan.tasks[name]
    # A key taken from air's defaults records the task itself as its origin (model.py).
    origins = {k: o if o != task.origin else task.origin.at(k) for k, o in task.origins.items()}
    limit = origins.get("time_limit", task.origin)
    retry = task.retry.origins
    route = f"task_routes['{name}']"
    note = f"task_annotations['{name}']"
    policy = "air task base (retry policy)"
    priority = where.source(task.origin.at("priority"))
    if priority.kind == "builtin":
        priority = Source("derived", note=f"the priority of queue '{planned.queue}'")
    rows: list[tuple[str, Any, bool, Source, str]] = [
        ("queue", planned.queue, False, where.source(origins["queue"]), f"{route}.queue"),
        (
            "priority",
            planned.priority,
            False,
            priority,
            f"{route}.priority = {redis_priority(planned.priority)} (Redis)",
        ),
        (
            "time_limit.soft",
            planned.soft_time_limit,
            True,
            where.source(limit.at("soft")),
            f"{note}.soft_time_limit",
        ),
        (
            "time_limit.hard",
            planned.time_limit,
            True,
            where.source(limit.at("hard")),
            f"{note}.time_limit",
        ),
        (
            "rate_limit",
            planned.rate_limit or planned.cluster_rate_limit,
            False,
            where.source(origins["rate_limit"]),
            f"air task base: one slot booked in Redis per start (air:rate:{name})"
            if planned.cluster_rate_limit
            else f"{note}.rate_limit",
        ),
        (
            "rate_limit.scope",
            task.rate_scope,
            False,
            where.source(origins["rate_limit"].at("scope")),
            "cluster: every worker of every pool together; worker: each worker node",
        ),
        (
            "unique.for",
            planned.unique_for,
            True,
            where.source(task.origin.at("unique", "for")),
            f"a claim at every send (air:unique:{name}:...), released when the task ends",
        ),
        (
            "unique.key",
            list(planned.unique_key) if planned.unique_for else None,
            False,
            where.source(task.origin.at("unique", "key")),
            "the argument values that make two sends the same",
        ),
        (
            "acks_late",
            planned.acks_late,
            False,
            where.source(origins["acks_late"]),
            f"{note}.acks_late",
        ),
        ("expires", planned.expires, True, where.source(origins["expires"]), f"{note}.expires"),
        (
            "dead_letter",
            planned.dead_letter,
            False,
            where.source(origins["dead_letter"]),
            "air task base (dead-letter store on final failure)",
        ),
        ("retry.max", planned.retry.max, False, where.source(retry["max"]), f"{note}.max_retries"),
        ("retry.backoff", planned.retry.backoff, False, where.source(retry["backoff"]), policy),
        (
            "retry.initial",
            planned.retry.initial,
            True,
            where.source(retry["initial"]),
            f"{note}.default_retry_delay",
        ),
        (
            "retry.max_delay",
            planned.retry.max_delay,
            True,
            where.source(retry["max_delay"]),
            policy,
        ),
        ("retry.jitter", planned.retry.jitter, False, where.source(retry["jitter"]), policy),
        ("retry.errors", list(planned.retry.errors), False, where.source(retry["errors"]), policy),
    ]
    settings = [
        Setting(
            key,
            value,
            show(value, duration=duration),
            source,
            target if value is not None else f"{target} not set",
        )
        for key, value, duration, source, target in rows
    ]
    return _item("task", name, where.declared(task.origin), settings)


def schedule_item(name: str, config: Config, plan: Plan, where: Locator) -> Item:
    schedule = config.schedules[name]
    entry = plan.beat[name]
    at = schedule.origin.at
    beat = f"beat entry '{name}'"
    zone = where.source(at("timezone"))
    if zone.kind == "builtin":
        zone = where.source(Origin(config.schedules_origin.file, "/timezone"))
    queue, priority = where.source(at("queue")), where.source(at("priority"))
    follows = f"task '{entry.task}'" if entry.task else "each step's own task"
    if queue.kind == "builtin":
        queue = Source("derived", note=f"the queue of {follows}")
    if priority.kind == "builtin":
        priority = Source("derived", note=f"the priority of {follows}")
    rows: list[tuple[str, Any, bool, Source, str]] = [
        ("task", entry.task or None, False, where.source(at("task")), f"{beat} task"),
        (
            "workflow",
            entry.workflow or None,
            False,
            where.source(at("workflow")),
            f"{beat} starts a run",
        ),
        ("cron", entry.cron, False, where.source(at("cron")), f"{beat} schedule"),
        ("every", entry.every, True, where.source(at("every")), f"{beat} schedule"),
        ("timezone", entry.timezone, False, zone, f"{beat} schedule"),
        ("queue", entry.queue, False, queue, f"{beat} options.queue"),
        (
            "priority",
            entry.priority,
            False,
            priority,
            f"{beat} options.priority = {entry.broker_priority} (Redis)",
        ),
        ("args", list(entry.args), False, where.source(at("args")), f"{beat} args"),
        ("kwargs", dict(entry.kwargs), False, where.source(at("kwargs")), f"{beat} kwargs"),
        (
            "overlap",
            entry.overlap,
            False,
            where.source(at("overlap")),
            "air beat overlap lock" if entry.overlap == "skip" else "no overlap lock",
        ),
        (
            "enabled",
            entry.enabled,
            False,
            where.source(at("enabled")),
            f"{beat} sent" if entry.enabled else f"{beat} not sent",
        ),
    ]
    settings = [
        Setting(key, value, show(value, duration=duration), source, target)
        for key, value, duration, source, target in rows
    ]
    return _item("schedule", name, where.declared(schedule.origin), settings)
