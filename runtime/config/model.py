"""The config as frozen dataclasses, with defaults applied and units parsed.

Built leniently from loaded data: a value the schema already rejected falls back to its default,
so semantic rules can still run on everything else in the same pass. A Plan is only ever compiled
from a model whose report has no errors.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from runtime.config import backoff, defaults
from runtime.config import pointer as ptr
from runtime.config.units import Rate, parse_duration, parse_rate, parse_size_kib

if TYPE_CHECKING:
    from runtime.config.workflows import Workflow


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a model object was declared: a file and a JSON Pointer into it."""

    file: str
    pointer: str

    def at(self, *tokens: str | int) -> Origin:
        return Origin(self.file, ptr.join(self.pointer, *tokens))


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeLimit:
    soft: timedelta | None = None
    hard: timedelta | None = None
    origin: Origin | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    max: int
    backoff: str  # exponential | fixed | none
    initial: timedelta
    max_delay: timedelta
    jitter: bool
    errors: tuple[str, ...]
    # Where each key was written (in the task or in `defaults`), for precise diagnostics.
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)

    def delay(self, retries: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retries + 1` (retries counts those done)."""
        return backoff.delay(
            self.backoff,
            self.initial.total_seconds(),
            self.max_delay.total_seconds(),
            self.jitter,
            retries,
            rng,
        )

    def worst_delay(self) -> timedelta:
        """The longest delay this policy can ask for (jitter only shortens delays)."""
        if self.backoff == "none" or self.max == 0:
            return timedelta(0)
        if self.backoff == "fixed":
            return min(self.initial, self.max_delay)
        # In float seconds: initial * 2**62 overflows timedelta long before max_delay caps it.
        grown = self.initial.total_seconds() * 2 ** min(self.max - 1, 62)
        return min(timedelta(seconds=min(grown, self.max_delay.total_seconds())), self.max_delay)


@dataclass(frozen=True, slots=True, kw_only=True)
class Broker:
    url: str
    result_backend: str
    visibility_timeout: timedelta
    result_expires: timedelta
    sentinel: Sentinel | None = None
    origin: Origin = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sentinel:
    """Redis Sentinel for sentinel:// URLs: the master's name and the Sentinels' password."""

    master_name: str
    password: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    name: str
    priority: int
    description: str
    delivery: str  # at_least_once | at_most_once
    slo: Slo | None = None
    origin: Origin = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Slo:
    """A queue's service level objective; either bound may be absent."""

    max_wait: timedelta | None = None
    max_depth: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Autoscale:
    min: int
    max: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Replicas:
    """How many copies of a pool's worker a deployment runs (`air render`)."""

    min: int
    max: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool:
    name: str
    queues: tuple[str, ...]
    concurrency: int
    max_tasks_per_child: int | None
    max_memory_per_child: int | None  # KiB
    prefetch_multiplier: int
    pool: str | None  # prefork | threads | solo; None: chosen by the compiler
    processes: int | None  # None: one per core, chosen by the compiler
    autoscale: Autoscale | None
    task_events: bool
    replicas: Replicas
    origin: Origin = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unique:
    """One task of this name and key at a time, queued or running, for at most `hold`."""

    hold: timedelta  # `for:` in the YAML
    key: tuple[str, ...]  # argument names; empty: the task name alone


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    name: str
    queue: str
    priority: int | None  # None: the queue's priority
    time_limit: TimeLimit
    rate_limit: Rate | None
    rate_scope: str  # worker | cluster
    unique: Unique | None
    retry: RetryPolicy
    acks_late: bool
    result: str  # on_request | always
    expires: timedelta | None
    dead_letter: bool
    description: str
    origin: Origin = field(compare=False, repr=False)
    # Where each policy key was written: the task itself or `defaults`.
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    name: str
    task: str  # '' when the schedule starts a workflow
    workflow: str  # a workflow's name, or ''
    cron: str | None
    every: timedelta | None
    timezone: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    queue: str | None
    priority: int | None
    overlap: str  # skip | allow
    catch_up: timedelta
    jitter: timedelta
    enabled: bool
    description: str
    origin: Origin = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Both files of one config directory."""

    imports: tuple[str, ...]
    broker: Broker
    queues: Mapping[str, Queue]
    pools: Mapping[str, Pool]
    tasks: Mapping[str, Task]
    default_queue: str  # where tasks without a queue, and unknown task names, are routed
    timezone: str
    schedules: Mapping[str, Schedule]
    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    defaults_origin: Origin = field(compare=False, repr=False)
    schedules_origin: Origin = field(compare=False, repr=False)


def build(queues_file: str, queues_data: Any, schedules_file: str, schedules_data: Any) -> Config:
    q = queues_data if isinstance(queues_data, dict) else {}
    s = schedules_data if isinstance(schedules_data, dict) else {}
    root = Origin(queues_file, "")
    policy_defaults = _mapping(q.get("defaults"))
    timezone = _value(s, "timezone", str, defaults.TIMEZONE)
    imports = q.get("imports", list(defaults.IMPORTS))
    return Config(
        imports=tuple(i for i in imports if isinstance(i, str))
        if isinstance(imports, list)
        else (),
        broker=_broker(_mapping(q.get("broker")), root.at("broker")),
        queues={
            name: _queue(name, _mapping(v), root.at("queues", name))
            for name, v in _mapping(q.get("queues")).items()
        },
        pools={
            name: _pool(name, _mapping(v), root.at("pools", name))
            for name, v in _mapping(q.get("pools")).items()
        },
        tasks={
            name: _task(name, _mapping(v), policy_defaults, root)
            for name, v in _mapping(q.get("tasks")).items()
        },
        default_queue=_value(policy_defaults, "queue", str, defaults.TASK["queue"]),
        timezone=timezone,
        schedules={
            name: _schedule(
                name, _mapping(v), timezone, Origin(schedules_file, ptr.join("/schedules", name))
            )
            for name, v in _mapping(s.get("schedules")).items()
        },
        defaults_origin=root.at("defaults"),
        schedules_origin=Origin(schedules_file, ""),
    )


def _broker(data: dict[str, Any], origin: Origin) -> Broker:
    url = _value(data, "url", str, defaults.BROKER["url"])
    return Broker(
        url=url,
        result_backend=_value(data, "result_backend", str, url),
        visibility_timeout=_duration(data, "visibility_timeout", defaults.BROKER),
        result_expires=_duration(data, "result_expires", defaults.BROKER),
        sentinel=_sentinel(data["sentinel"]) if isinstance(data.get("sentinel"), dict) else None,
        origin=origin,
    )


def _sentinel(data: dict[str, Any]) -> Sentinel:
    return Sentinel(
        master_name=_value(data, "master_name", str, ""),
        password=_value(data, "password", str, ""),
    )


def _queue(name: str, data: dict[str, Any], origin: Origin) -> Queue:
    return Queue(
        name=name,
        priority=_value(data, "priority", int, 5),
        description=_value(data, "description", str, ""),
        delivery=_value(data, "delivery", str, defaults.QUEUE["delivery"]),
        slo=_slo(data["slo"]) if isinstance(data.get("slo"), dict) else None,
        origin=origin,
    )


def _slo(data: dict[str, Any]) -> Slo:
    depth = _value(data, "max_depth", int, None)
    return Slo(
        max_wait=_duration(data, "max_wait", {}),
        # A depth the schema rejects (below 1) is left out, like any rejected value.
        max_depth=depth if depth is not None and depth >= 1 else None,
    )


def _pool(name: str, data: dict[str, Any], origin: Origin) -> Pool:
    d = defaults.POOL
    queues = data.get("queues")
    autoscale = _mapping(data.get("autoscale"))
    replicas = _mapping(data.get("replicas"))
    memory = data.get("max_memory_per_child")
    try:
        memory_kib = parse_size_kib(memory) if memory is not None else None
    except (ValueError, TypeError):
        memory_kib = None
    return Pool(
        name=name,
        queues=tuple(x for x in queues if isinstance(x, str)) if isinstance(queues, list) else (),
        concurrency=_value(data, "concurrency", int, d["concurrency"]),
        max_tasks_per_child=_value(data, "max_tasks_per_child", int, d["max_tasks_per_child"]),
        max_memory_per_child=memory_kib,
        prefetch_multiplier=_value(data, "prefetch_multiplier", int, d["prefetch_multiplier"]),
        pool=_value(data, "pool", str, d["pool"]),
        processes=_value(data, "processes", int, d["processes"]),
        task_events=_value(data, "task_events", bool, d["task_events"]),
        autoscale=Autoscale(
            min=_value(autoscale, "min", int, 0), max=_value(autoscale, "max", int, 1)
        )
        if autoscale
        else None,
        replicas=Replicas(
            min=_value(replicas, "min", int, d["replicas"]["min"]),
            max=_value(replicas, "max", int, d["replicas"]["max"]),
        ),
        origin=origin,
    )


def _task(name: str, data: dict[str, Any], policy_defaults: dict[str, Any], root: Origin) -> Task:
    """A task's policy: its own keys, else those in `defaults`, else the built-in defaults."""
    own = root.at("tasks", name)
    inherited = root.at("defaults")
    origins: dict[str, Origin] = {}

    def pick(key: str) -> Any:
        for source, origin in ((data, own), (policy_defaults, inherited)):
            if key in source:
                origins[key] = origin.at(key)
                return source[key]
        origins[key] = own
        return defaults.TASK.get(key)

    limit_data = _mapping(pick("time_limit"))
    limit_origin = origins["time_limit"]
    rate = pick("rate_limit")
    rate_map = _mapping(rate)
    rate_text = rate_map.get("rate") if rate_map else rate
    try:
        rate_limit = parse_rate(rate_text) if isinstance(rate_text, str) else None
    except ValueError:
        rate_limit = None
    unique = _mapping(data.get("unique"))
    return Task(
        name=name,
        queue=_typed(pick("queue"), str, defaults.TASK["queue"]),
        priority=_value(data, "priority", int, None),
        time_limit=TimeLimit(
            soft=_duration(limit_data, "soft", {}),
            hard=_duration(limit_data, "hard", {}),
            origin=limit_origin,
        ),
        rate_limit=rate_limit,
        rate_scope=_value(rate_map, "scope", str, defaults.RATE_LIMIT["scope"]),
        unique=Unique(
            hold=_duration(unique, "for", {"for": 0}) or timedelta(0),
            key=tuple(
                k for k in _list(unique.get("key", defaults.UNIQUE["key"])) if isinstance(k, str)
            ),
        )
        if unique
        else None,
        retry=_retry(
            _mapping(data.get("retry")),
            _mapping(policy_defaults.get("retry")),
            own.at("retry"),
            inherited.at("retry"),
        ),
        acks_late=_typed(pick("acks_late"), bool, defaults.TASK["acks_late"]),
        result=_typed(pick("result"), str, defaults.TASK["result"]),
        expires=_duration({"expires": pick("expires")}, "expires", {}),
        dead_letter=_typed(pick("dead_letter"), bool, defaults.TASK["dead_letter"]),
        description=_value(data, "description", str, ""),
        origin=own,
        origins=origins,
    )


def _retry(
    own: dict[str, Any], inherited: dict[str, Any], own_origin: Origin, inherited_origin: Origin
) -> RetryPolicy:
    merged = {**defaults.RETRY, **inherited, **own}
    origins = {key: (own_origin if key in own else inherited_origin).at(key) for key in merged}
    errors = merged["errors"]
    return RetryPolicy(
        max=_typed(merged["max"], int, defaults.RETRY["max"]),
        backoff=_typed(merged["backoff"], str, defaults.RETRY["backoff"]),
        initial=_duration(merged, "initial", defaults.RETRY),
        max_delay=_duration(merged, "max_delay", defaults.RETRY),
        jitter=_typed(merged["jitter"], bool, defaults.RETRY["jitter"]),
        errors=tuple(e for e in errors if isinstance(e, str)) if isinstance(errors, list) else (),
        origins=origins,
    )


def _schedule(name: str, data: dict[str, Any], timezone: str, origin: Origin) -> Schedule:
    d = defaults.SCHEDULE
    args, kwargs = data.get("args", d["args"]), data.get("kwargs", d["kwargs"])
    return Schedule(
        name=name,
        task=_value(data, "task", str, ""),
        workflow=_value(data, "workflow", str, ""),
        cron=_value(data, "cron", str, None),
        every=_duration(data, "every", {}),
        timezone=_value(data, "timezone", str, timezone),
        args=tuple(args) if isinstance(args, list) else (),
        kwargs=dict(kwargs) if isinstance(kwargs, dict) else {},
        queue=_value(data, "queue", str, None),
        priority=_value(data, "priority", int, None),
        overlap=_value(data, "overlap", str, d["overlap"]),
        catch_up=_duration(data, "catch_up", d),
        jitter=_duration(data, "jitter", d),
        enabled=_value(data, "enabled", bool, d["enabled"]),
        description=_value(data, "description", str, d["description"]),
        origin=origin,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _typed(value: Any, kind: type, fallback: Any) -> Any:
    # bool is an int subclass: never let `true` pass for a number, or 1 for a flag.
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    return fallback


def _value(data: dict[str, Any], key: str, kind: type, fallback: Any) -> Any:
    return _typed(data.get(key), kind, fallback)


def _duration(data: dict[str, Any], key: str, fallbacks: dict[str, Any]) -> Any:
    value = data.get(key)
    if value is None:  # absent, or an explicit null the schema rejects: use the fallback
        value = fallbacks.get(key)
    if value is None:
        return None
    try:
        return parse_duration(value)
    except (ValueError, TypeError, OverflowError):
        fallback = fallbacks.get(key)
        return parse_duration(fallback) if fallback is not None else None
