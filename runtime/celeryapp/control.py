"""`air_info`: one remote inspect command a worker answers with everything `air health` and
`air status` need (its pool, the config checksum it was compiled from, concurrency, live
processes, the queues it really consumes, active/reserved/processed counts), so one broadcast
replaces Celery's four (stats, active, reserved, active_queues)."""

from __future__ import annotations

import os
from typing import Any

from celery.worker import state as worker_state
from celery.worker.control import inspect_command

from runtime.compiler.workers import pool_of

COMMAND = "air_info"


@inspect_command(name=COMMAND)  # type: ignore[untyped-decorator]
def air_info(state: Any, **_: Any) -> dict[str, Any]:
    """air's view of this worker: pool, config checksum, processes, queues and counts."""
    consumer = state.consumer
    plan = getattr(state.app, "air_plan", None)
    pool = consumer.pool
    task_consumer = consumer.task_consumer
    active = worker_state.active_requests
    return {
        # `air run` exports AIR_POOL; a worker started by `celery -A ...` is named POOL@HOST.
        "pool": os.environ.get("AIR_POOL") or pool_of(state.hostname) or state.hostname,
        "config_checksum": plan.config_checksum if plan is not None else "",
        "concurrency": int(consumer.controller.concurrency or 0),
        "processes": _processes(pool),
        "queues": sorted(q.name for q in task_consumer.queues) if task_consumer else [],
        "active": len(active),
        "reserved": len(set(worker_state.reserved_requests) - set(active)),
        "processed": sum(worker_state.total_count.values()),
    }


def _processes(pool: Any) -> int:
    """Live pool processes: prefork lists their pids; other pools only know their size."""
    if pool is None:
        return 0
    pids = pool.info.get("processes")
    return len(pids) if pids is not None else int(pool.num_processes or 0)
