"""What a deployment needs to know about each pool: its Redis lists, stop grace and name."""

from __future__ import annotations

import re

from runtime.compiler.compile import PRIORITY_STEPS
from runtime.compiler.plan import Plan, WorkerPlan

# kombu's Redis transport keeps a queue's messages of priority step N > 0 in the list
# QUEUE + "\x06\x16" + N, and step 0 in the list named QUEUE (kombu.transport.redis
# Channel._q_for_pri and Channel.sep).
PRIORITY_SEPARATOR = "\x06\x16"

# Seconds a warm shutdown may take beyond the longest task: acknowledging the last task,
# storing its result and closing the broker connection.
SHUTDOWN_MARGIN = 30


def redis_lists(queue: str) -> list[str]:
    """Every Redis list a queue's messages can wait in, most urgent first."""
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def longest_run(plan: Plan, worker: WorkerPlan) -> float:
    """Seconds the longest task this pool can receive may run: the hard time limit of every
    task routed to one of its queues, by its own route or by a schedule's queue override. A
    task without a limit is bounded by the visibility timeout, after which it is redelivered."""
    visibility = float(plan.celery["broker_transport_options"]["visibility_timeout"])
    queues = set(worker.queues)
    tasks = {t.name for t in plan.tasks.values() if t.queue in queues}
    tasks |= {e.task for e in plan.beat.values() if e.queue in queues}
    limits = [_limit(plan, name, visibility) for name in sorted(tasks)]
    return max(limits, default=0.0)


def _limit(plan: Plan, name: str, visibility: float) -> float:
    limit = plan.tasks[name].time_limit
    return visibility if limit is None else limit


def stop_grace(plan: Plan, worker: WorkerPlan) -> int:
    """Seconds to wait after SIGTERM (Celery's warm shutdown) before killing the worker."""
    return int(longest_run(plan, worker)) + SHUTDOWN_MARGIN


def dns_name(name: str) -> str:
    """A Kubernetes object name (RFC 1123 label) for a pool name."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "pool"
