"""Compile a pool into its worker processes: how many, which execution pool, the options."""

from __future__ import annotations

import math
import os
from pathlib import Path

from runtime.compiler.plan import WorkerPlan
from runtime.config.errors import UsageError
from runtime.config.model import Pool

APP = "runtime.celeryapp.app"  # the module `celery -A` loads; it builds the app from this same plan

# Worker keyword -> `celery worker` flag; the argv shown to users is derived from the same options
# that `air run` passes to celery.apps.worker.Worker, so the two cannot drift apart.
WORKER_FLAGS = {
    "hostname": "--hostname",
    "queues": "--queues",
    "pool": "--pool",
    "concurrency": "--concurrency",
    "autoscale": "--autoscale",
    "prefetch_multiplier": "--prefetch-multiplier",
    "optimization": "-O",
    "max_tasks_per_child": "--max-tasks-per-child",
    "max_memory_per_child": "--max-memory-per-child",
    "loglevel": "--loglevel",
    "task_events": "--task-events",
    "without_mingle": "--without-mingle",
    "without_gossip": "--without-gossip",
}


CORES_ENV = "AIR_CORES"  # plan for this many cores instead of this machine's
CPU_MAX = "/sys/fs/cgroup/cpu.max"  # cgroup v2 CPU quota: "max 100000" or "200000 100000"


def machine_cores() -> int:
    """The cores a pool's default process count is planned for: AIR_CORES when set (planning
    or rendering for other machines than this one, e.g. in CI), else the cores this process may
    run on: its CPU set, capped by a container's CPU quota (a pod limited to 2 CPUs on a
    64-core node runs 2 processes, not 64)."""
    wanted = os.environ.get(CORES_ENV, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise UsageError(
                f"{CORES_ENV}={wanted!r} is not a number of cores",
                hint=f"set {CORES_ENV} to a whole number of at least 1, or unset it",
            )
        return int(wanted)
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cpu_quota()
    return min(cores, quota) if quota else cores


def _cpu_quota() -> int | None:
    try:
        limit, period = Path(CPU_MAX).read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if limit == "max" or not limit.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return max(1, math.ceil(int(limit) / int(period)))


def process_count(pool: Pool, cores: int) -> int:
    """As set; else one process per core, at most one per slot, splitting the slots evenly."""
    if pool.autoscale:
        return 1
    if pool.processes:
        return pool.processes
    limit = max(1, min(cores, pool.concurrency))
    return max(n for n in range(1, limit + 1) if pool.concurrency % n == 0)


def worker_plan(pool: Pool, queue_priority: dict[str, int], cores: int) -> WorkerPlan:
    queues = tuple(sorted(pool.queues, key=lambda q: -queue_priority.get(q, 0)))
    processes = process_count(pool, cores)
    slots = max(1, pool.concurrency // processes)
    # One slot per process runs the task in the worker process itself (solo): no hand-over to a
    # pool child per task. air enforces time limits there (runtime/celeryapp/solo.py).
    kind = pool.pool or ("solo" if slots == 1 and not pool.autoscale else "prefork")
    options: dict[str, object] = {
        # %i is the process number, 1..processes (runtime/celeryapp/launch.py).
        "hostname": f"{pool.name}@%h" if processes == 1 else f"{pool.name}.%i@%h",
        "queues": list(queues),
        "pool": kind,
        "prefetch_multiplier": pool.prefetch_multiplier,
        # fair: hand a task only to an idle child, so an urgent task is never queued behind a
        # long one in a busy child's pipe.
        "optimization": "fair",
        "task_events": pool.task_events,
        "without_mingle": True,
        "without_gossip": True,
        # Celery's default level: a line per task at INFO costs throughput and floods production
        # logs; task events carry that record. `air up` and `air run --loglevel INFO` show it.
        "loglevel": "WARNING",
    }
    if pool.autoscale:
        options["autoscale"] = [pool.autoscale.max, pool.autoscale.min]
    else:
        options["concurrency"] = slots
    if pool.max_tasks_per_child:
        options["max_tasks_per_child"] = pool.max_tasks_per_child
    if pool.max_memory_per_child:
        options["max_memory_per_child"] = pool.max_memory_per_child
    concurrency = pool.autoscale.max if pool.autoscale else pool.concurrency
    return WorkerPlan(
        pool=pool.name,
        queues=queues,
        concurrency=concurrency,
        processes=processes,
        hostnames=tuple(
            f"{pool.name}@%h" if processes == 1 else f"{pool.name}.{i}@%h"
            for i in range(1, processes + 1)
        ),
        replicas={"min": pool.replicas.min, "max": pool.replicas.max},
        options=options,
        argv=("celery", "-A", APP, "worker", *flags(options, WORKER_FLAGS)),
    )


def flags(options: dict[str, object], names: dict[str, str]) -> list[str]:
    argv: list[str] = []
    for key, value in options.items():
        if value is False:
            continue
        if value is True:
            argv.append(names[key])
        elif isinstance(value, list):
            argv += [names[key], ",".join(str(v) for v in value)]
        else:
            argv += [names[key], str(value)]
    return argv


def pool_of(hostname: str) -> str | None:
    """The pool of a worker node: air names nodes `POOL@HOST`, or `POOL.I@HOST` for process I of
    a pool of several (runtime/compiler/workers.py)."""
    node, at, _ = hostname.partition("@")
    if not (at and node):
        return None
    pool, dot, index = node.rpartition(".")
    return pool if dot and pool and index.isdigit() else node
