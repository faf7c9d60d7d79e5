"""The compiled plan: plain data that the Celery app, the workers and beat are built from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPlan:
    max: int
    backoff: str
    initial: float  # seconds
    max_delay: float
    jitter: bool
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskPlan:
    """A task's effective policy, read by the task base class at run time."""

    name: str
    queue: str
    priority: int  # air scale, 1..10
    soft_time_limit: float | None
    time_limit: float | None
    rate_limit: str | None  # per worker node: Celery's own rate limit
    cluster_rate_limit: str | None  # across every worker: booked in Redis at each start
    unique_for: float | None  # seconds a send claims the task's name and key
    unique_key: tuple[str, ...]  # argument names that make two sends the same
    acks_late: bool
    result: str  # on_request: stored only when the sender asks | always
    expires: float | None
    dead_letter: bool
    retry: RetryPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuePlan:
    name: str
    priority: int  # air scale
    broker_priority: int  # what goes on the wire (Redis: 0 is the most urgent)
    slo_max_wait: float | None = None  # seconds a message may wait (queues.NAME.slo.max_wait)
    slo_max_depth: int | None = None  # messages that may wait (queues.NAME.slo.max_depth)
    delivery: str = "at_least_once"  # or at_most_once: removed from Redis when fetched


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPlan:
    """A workflow as plain data; runtime/sending/workflows.py turns it into a Celery canvas.
    A step is {"task", "args", "kwargs"} or {"parallel": [steps]}."""

    name: str
    description: str
    steps: tuple[dict[str, Any], ...]

    @property
    def size(self) -> int:
        """How many task runs one run of the workflow makes."""
        return self.count(self.steps)

    @staticmethod
    def count(steps: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> int:
        return sum(WorkflowPlan.count(s["parallel"]) if "parallel" in s else 1 for s in steps)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerPlan:
    pool: str
    queues: tuple[str, ...]  # most urgent first
    concurrency: int  # task slots over all processes
    processes: int  # worker processes, each with `concurrency / processes` slots
    hostnames: tuple[str, ...]  # one node name per process ('%h': this host)
    replicas: dict[str, int]  # {min, max}: copies of this worker a deployment runs
    options: dict[str, Any]  # one process's celery.apps.worker.Worker keyword arguments
    argv: tuple[str, ...]  # the same process as a `celery` command line


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEntry:
    name: str
    task: str
    cron: str | None
    every: float | None  # seconds
    timezone: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    queue: str
    priority: int  # air scale
    broker_priority: int
    expires: float | None
    overlap: str  # skip | allow
    catch_up: float  # seconds: a fire later than this is skipped and counted, not sent
    jitter: float  # seconds: the most a fire is delayed (the same delay on every beat)
    enabled: bool
    lock_ttl: float  # seconds an overlap lock may live if a run never reports back
    # A workflow schedule starts a run of this workflow; then task is '' and queue is ''
    # (every step goes to its own task's queue).
    workflow: str = ""

    @property
    def target(self) -> str:
        """What a fire sends, as `air schedule` shows it."""
        return f"workflow {self.workflow}" if self.workflow else self.task


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    celery: dict[str, Any]  # Celery setting names -> values
    imports: tuple[str, ...]
    default_queue: str
    queues: tuple[QueuePlan, ...]
    tasks: dict[str, TaskPlan]
    workers: dict[str, WorkerPlan]
    beat: dict[str, ScheduleEntry]
    beat_options: dict[str, Any]  # celery.apps.beat.Beat keyword arguments
    beat_argv: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    workflows: dict[str, WorkflowPlan] = field(default_factory=dict)
    # Celery's app.backend_cls: set when air's own result backend class serves the URL.
    result_backend_class: str | None = None
    # sha256 of the two YAML files this plan was compiled from (Validation.checksum); workers
    # advertise it, so `air status` finds one started from another config.
    config_checksum: str = ""

    def to_dict(self) -> dict[str, Any]:
        plain: dict[str, Any] = _plain(asdict(self))
        return plain

    def route(self, task: str) -> tuple[str, int]:
        """(queue, air priority) for a task name; unknown names take the default route."""
        policy = self.tasks.get(task)
        if policy is not None:
            return policy.queue, policy.priority
        queue = next(q for q in self.queues if q.name == self.default_queue)
        return queue.name, queue.priority


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
