"""Compile a validated config into a Plan: Celery settings, worker command lines, beat entries.

Pure: no I/O and no Celery import. Every setting here answers a known trap of Celery/kombu 5.7
on Redis; the comments say which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runtime.compiler import workers
from runtime.compiler.plan import Plan, QueuePlan, RetryPlan, ScheduleEntry, TaskPlan, WorkflowPlan
from runtime.compiler.workers import APP, flags, worker_plan
from runtime.config.model import Broker, Config, Queue, Schedule, Sentinel, Task
from runtime.config.rules.workflows import longest_run
from runtime.config.units import redis_priority
from runtime.config.validate import InvalidConfig, Validation, validate
from runtime.config.workflows import ParallelStep, Step, Workflow

UNACKED_MUTEX_EXPIRE = 10  # seconds: see broker_transport_options below

# kombu's Redis transport keeps one list per priority step; its default [0, 3, 6, 9] folds
# ten priorities into four buckets. Ten steps keep every air priority distinct.
PRIORITY_STEPS = list(range(10))
# Notice a dead broker connection (or Sentinel) instead of blocking on it forever.
SOCKET_TIMEOUT = 30
SOCKET_CONNECT_TIMEOUT = 5

BEAT_OPTIONS: dict[str, object] = {
    "scheduler": "runtime.sending.beat:RedisScheduler",
    "loglevel": "INFO",
}
_BEAT_FLAGS = {"scheduler": "--scheduler", "loglevel": "--loglevel"}

NOTES = (
    "Priorities: air 1..10 (10 most urgent) are sent as Redis priorities 10 - p (0 most urgent) "
    "over ten priority steps. A pool consuming several queues takes the most urgent message "
    "across all of them: message priority beats queue order on Redis; order only breaks ties.",
    "Rate limits: a plain rate (30/m) holds per worker node (Celery's rule), so two nodes of a "
    "pool allow twice the rate; `rate_limit: {rate: 30/m, scope: cluster}` holds across every "
    "worker of every pool: each start books the next free slot in Redis, and a task whose slot "
    "is later is sent again to start then (no worker process waits for it).",
    "Processes: a pool runs one worker process per core unless it sets `processes`, each with "
    "its own broker connection, sharing `concurrency` evenly; a process with one slot runs its "
    "task itself (solo pool), which enforces time limits with SIGALRM in the task "
    "(runtime/celeryapp/solo.py). A killed solo process's task comes back after the visibility "
    "timeout; a prefork child's comes back at once, counted against its retries.",
    "Time limits are enforced by the prefork and solo pools, not by threads.",
    "Worker start-up: mingle and gossip are off (--without-mingle --without-gossip). They add "
    "about a second to every start and serve worker-to-worker state sync that air does not use; "
    "heartbeats stay on because monitoring needs them.",
    "Delivery: tasks are acknowledged after they run (acks_late); a task whose worker process "
    "dies is sent again, counted against its retry limit; a task that fails or times out is "
    "acknowledged and recorded in the dead-letter store, never redelivered forever.",
    "Delivery per queue: `delivery: at_most_once` takes a message out of Redis when it is "
    "fetched and acknowledges it on receipt: a worker that dies mid-task loses it, nothing runs "
    "twice, and a fetch costs no unacked-index entry.",
    "One message is reserved per worker process (prefetch multiplier 1 unless a pool sets more), "
    "so a backlog of low-priority work never sits in front of urgent work.",
    "Monitoring: task events are on for every pool unless it sets task_events: false; they are "
    "published in batches, at most 0.1 s late (runtime/celeryapp/consumer.py). Workers log at "
    "WARNING unless started with --loglevel (air up uses INFO).",
    "Delivery: one Lua script per fetch pops the most urgent message, records it as "
    "unacknowledged and removes the entries of the messages acknowledged since the last fetch; "
    "an acknowledgement waits at most 0.1 s for it (runtime/broker/fetch.py).",
    "Results: a task with `result: on_request` (the default) stores its result only when the "
    "sender asks (`air send --wait`, apply_async(ignore_result=False)); a send subscribes to "
    "no result channel until someone waits for the result.",
    "Redis: one client object per broker channel (runtime/broker/transport.py); each result is "
    "stored in one atomic round trip that never overwrites a SUCCESS "
    "(runtime/broker/result_backend.py).",
)


def seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def compile_plan(config: Config, cores: int | None = None) -> Plan:
    """`cores` (default: this machine's) sets how many processes a pool runs by default."""
    cores = cores or workers.machine_cores()
    queue_priority = {q.name: q.priority for q in config.queues.values()}
    at_most_once = {q.name for q in config.queues.values() if q.delivery == "at_most_once"}
    tasks = {t.name: _task(t, queue_priority, at_most_once) for t in config.tasks.values()}
    default_priority = queue_priority[config.default_queue]
    visibility = config.broker.visibility_timeout.total_seconds()
    return Plan(
        celery=_celery_settings(config, tasks, default_priority, visibility),
        imports=config.imports,
        default_queue=config.default_queue,
        queues=tuple(_queue(q) for q in sorted(config.queues.values(), key=lambda q: -q.priority)),
        tasks=tasks,
        workers={p.name: worker_plan(p, queue_priority, cores) for p in config.pools.values()},
        beat={
            s.name: _workflow_schedule(s, config, visibility)
            if s.workflow
            else _schedule(s, tasks, visibility)
            for s in config.schedules.values()
        },
        beat_options=dict(BEAT_OPTIONS),
        beat_argv=("celery", "-A", APP, "beat", *flags(BEAT_OPTIONS, _BEAT_FLAGS)),
        notes=NOTES,
        workflows={w.name: _workflow(w) for w in config.workflows.values()},
        result_backend_class=_result_backend_class(config.broker.result_backend),
    )


def _workflow(workflow: Workflow) -> WorkflowPlan:
    return WorkflowPlan(
        name=workflow.name,
        description=workflow.description,
        steps=tuple(_step(step) for step in workflow.steps),
    )


def _step(step: Step) -> dict[str, Any]:
    if isinstance(step, ParallelStep):
        return {"parallel": [_step(member) for member in step.steps]}
    return {
        "task": step.task,
        "args": list(step.args),
        "kwargs": dict(step.kwargs),
        "input": step.takes_input,
    }


def _queue(queue: Queue) -> QueuePlan:
    slo = queue.slo
    return QueuePlan(
        name=queue.name,
        priority=queue.priority,
        broker_priority=redis_priority(queue.priority),
        slo_max_wait=seconds(slo.max_wait) if slo else None,
        slo_max_depth=slo.max_depth if slo else None,
        delivery=queue.delivery,
    )


def _task(task: Task, queue_priority: dict[str, int], at_most_once: set[str]) -> TaskPlan:
    retry = task.retry
    return TaskPlan(
        name=task.name,
        queue=task.queue,
        priority=task.priority if task.priority is not None else queue_priority[task.queue],
        soft_time_limit=seconds(task.time_limit.soft),
        time_limit=seconds(task.time_limit.hard),
        rate_limit=str(task.rate_limit)
        if task.rate_limit and task.rate_scope == "worker"
        else None,
        cluster_rate_limit=str(task.rate_limit)
        if task.rate_limit and task.rate_scope == "cluster"
        else None,
        unique_for=seconds(task.unique.hold) if task.unique else None,
        unique_key=task.unique.key if task.unique else (),
        # An at-most-once queue's tasks are acknowledged on receipt (their message is already
        # gone from Redis: runtime/broker/fetch.py).
        acks_late=task.acks_late and task.queue not in at_most_once,
        result=task.result,
        expires=seconds(task.expires),
        dead_letter=task.dead_letter,
        retry=RetryPlan(
            max=retry.max,
            backoff=retry.backoff,
            initial=retry.initial.total_seconds(),
            max_delay=retry.max_delay.total_seconds(),
            jitter=retry.jitter,
            errors=retry.errors,
        ),
    )


def _celery_settings(
    config: Config, tasks: dict[str, TaskPlan], default_priority: int, visibility: float
) -> dict[str, object]:
    broker = config.broker
    # Exact task names only, then one catch-all: a send_task() of a name this process has not
    # registered must not go out without a priority (Redis would treat it as the most urgent).
    routes: dict[str, dict[str, object]] = {
        t.name: {"queue": t.queue, "priority": redis_priority(t.priority)} for t in tasks.values()
    }
    routes["*"] = {"queue": config.default_queue, "priority": redis_priority(default_priority)}
    return {
        "broker_url": broker.url,
        **_transport(broker.url),
        "result_backend": broker.result_backend,
        "result_expires": broker.result_expires.total_seconds(),
        # JSON only: pickle would let anyone who can write to Redis run code in the workers.
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # A typo in a queue name fails loudly instead of creating a queue nobody consumes.
        "task_create_missing_queues": False,
        "task_default_queue": config.default_queue,
        # task_default_priority is deliberately unset: it would override every route's priority.
        "task_routes": routes,
        # Exact names only; a '*' annotation would override every per-task value.
        "task_annotations": {t.name: _annotation(t) for t in tasks.values()},
        "task_acks_late": True,
        "task_acks_on_failure_or_timeout": True,
        "task_reject_on_worker_lost": True,
        "task_retry_on_worker_lost": True,
        # Task events are switched on per pool (`task_events`, default on): they feed monitoring
        # and, published in batches (runtime/celeryapp/consumer.py), cost about 5 % of a
        # worker's no-op throughput (docs/benchmarks.md).
        # task_track_started, result_extended and task_send_sent_event stay off: each costs
        # every task a Redis write or publish, and nothing in air reads them.
        "worker_send_task_events": False,
        "worker_prefetch_multiplier": 1,
        # Publishes task events in batches (runtime/celeryapp/consumer.py).
        "worker_consumer": "runtime.celeryapp.consumer:AirConsumer",
        # Running tasks go on when the broker connection is lost: their acknowledgements (and
        # completion markers) are sent by the next connection (runtime/broker/fetch.py), and a
        # running task is never redelivered meanwhile (the visibility timeout exceeds every hard
        # limit, AIR302). Celery's cancelling them instead made tasks whose body had just ended
        # run a second time (1 unit in every 30 s outage run of tests/chaos/test_workers.py).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": visibility,
            "priority_steps": PRIORITY_STEPS,
            "queue_order_strategy": "priority",
            # Fetched without an entry in the unacked index (runtime/broker/fetch.py).
            "at_most_once_queues": sorted(
                q.name for q in config.queues.values() if q.delivery == "at_most_once"
            ),
            # Sweep for messages whose visibility timeout ran out every few seconds (kombu's
            # default is ~100 s: interval 10 s x throttle 10).
            "unacked_restore_interval": max(1, min(10, int(visibility // 10))),
            "unacked_restore_throttle": 1,
            # Sweeps take turns under a Redis lock; a worker killed while holding it (kill -9,
            # OOM) blocked every other worker's sweep until the lock expired: kombu's 300 s.
            # A sweep takes milliseconds, and each message is restored in a WATCH transaction,
            # so two sweeps overlapping after an early expiry restore nothing twice.
            "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE,
            # Notice a dead broker connection instead of blocking on it forever.
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT,
            "socket_keepalive": True,
            "health_check_interval": 25,
            **_sentinel_options(broker.sentinel, broker.url),
        },
        **_backend_options(broker),
        "redis_socket_timeout": 30,
        "redis_socket_connect_timeout": 5,
        "redis_socket_keepalive": True,
        "redis_backend_health_check_interval": 25,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_max_loop_interval": 30,
    }


def _result_backend_class(url: str) -> str | None:
    """Redis result backends use air's one-round-trip store (runtime/broker/result_backend.py)."""
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        return "runtime.broker.result_backend:RedisResultBackend"
    if scheme == "sentinel":
        return "runtime.broker.result_backend:SentinelResultBackend"
    return None


def _transport(url: str) -> dict[str, str]:
    """redis:// and sentinel:// brokers use air's kombu transport (runtime/broker/transport.py)."""
    scheme = urlsplit(url).scheme
    if scheme == "redis":
        return {"broker_transport": "runtime.broker.transport:Transport"}
    if scheme == "sentinel":
        return {"broker_transport": "runtime.broker.transport:SentinelTransport"}
    return {}


def _backend_options(broker: Broker) -> dict[str, object]:
    options = _sentinel_options(broker.sentinel, broker.result_backend)
    return {"result_backend_transport_options": options} if options else {}


def _sentinel_options(sentinel: Sentinel | None, url: str) -> dict[str, object]:
    """The transport options kombu's and Celery's Sentinel support read, for a sentinel:// URL:
    the master's name, and for the connections to the Sentinels themselves their password and
    the same socket bounds as the master's (redis-py drops those once sentinel_kwargs is set)."""
    if sentinel is None or urlsplit(url).scheme != "sentinel":
        return {}
    sentinel_kwargs: dict[str, object] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT,
    }
    if sentinel.password:
        sentinel_kwargs["password"] = sentinel.password
    return {"master_name": sentinel.master_name, "sentinel_kwargs": sentinel_kwargs}


def _annotation(task: TaskPlan) -> dict[str, object]:
    annotation: dict[str, object] = {
        "acks_late": task.acks_late,
        # A sender that asks (ignore_result=False in the message) overrides this.
        "ignore_result": task.result == "on_request",
        # Used by Celery when a worker process dies mid-task (task_retry_on_worker_lost).
        "max_retries": task.retry.max,
        "default_retry_delay": task.retry.initial,
    }
    optional = {
        "time_limit": task.time_limit,
        "soft_time_limit": task.soft_time_limit,
        "rate_limit": task.rate_limit,
        "expires": task.expires,
    }
    annotation.update({k: v for k, v in optional.items() if v is not None})
    return annotation


def _schedule(schedule: Schedule, tasks: dict[str, TaskPlan], visibility: float) -> ScheduleEntry:
    task = tasks[schedule.task]
    priority = schedule.priority if schedule.priority is not None else task.priority
    return ScheduleEntry(
        name=schedule.name,
        task=schedule.task,
        cron=schedule.cron,
        every=seconds(schedule.every),
        timezone=schedule.timezone,
        args=schedule.args,
        kwargs=dict(schedule.kwargs),
        queue=schedule.queue or task.queue,
        priority=priority,
        broker_priority=redis_priority(priority),
        expires=task.expires,
        overlap=schedule.overlap,
        catch_up=schedule.catch_up.total_seconds(),
        jitter=schedule.jitter.total_seconds(),
        enabled=schedule.enabled,
        # A run is over by its hard limit; a message not acknowledged within the visibility
        # timeout is redelivered, so no lock needs to outlive both.
        lock_ttl=visibility + (task.time_limit or 0),
    )


def _workflow_schedule(schedule: Schedule, config: Config, visibility: float) -> ScheduleEntry:
    """A fire starts a run; steps keep their own queues and priorities (AIR410 refuses a
    schedule-wide one), so the entry names none."""
    longest = longest_run(config, config.workflows[schedule.workflow].steps)
    priority = config.queues[config.default_queue].priority
    return ScheduleEntry(
        name=schedule.name,
        task="",
        workflow=schedule.workflow,
        cron=schedule.cron,
        every=seconds(schedule.every),
        timezone=schedule.timezone,
        args=(),
        kwargs={},
        queue="",
        priority=priority,
        broker_priority=redis_priority(priority),
        expires=None,
        overlap=schedule.overlap,
        catch_up=schedule.catch_up.total_seconds(),
        jitter=schedule.jitter.total_seconds(),
        enabled=schedule.enabled,
        # The run's record says when it ends; the lock only bounds a run that never reports
        # back (its steps' limits add up, and unlimited steps get the visibility timeout).
        lock_ttl=visibility + (seconds(longest) or visibility),
    )


def load_plan(config_dir: Path, env: Mapping[str, str] | None = None) -> tuple[Plan, Validation]:
    """Validate and compile; raise when the config cannot be used. Warnings pass through."""
    result = validate(config_dir, env)
    if result.unreadable:
        raise InvalidConfig(result, usage=True)
    if not result.report.ok:
        raise InvalidConfig(result)
    return replace(compile_plan(result.config), config_checksum=result.checksum), result
