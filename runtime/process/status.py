"""`air status`: what the YAML declares beside what is running, and every drift between them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.compiler.plan import Plan, ScheduleEntry, WorkerPlan
from runtime.config import cron
from runtime.process.observe import Snapshot, Worker


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    kind: str  # no_worker | unknown_pool | queues | concurrency | config
    subject: str  # the pool or worker node it is about
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fire:
    schedule: str
    task: str
    last: datetime | None
    next: datetime | None  # None: disabled


def drift(plan: Plan, snap: Snapshot) -> list[Drift]:
    """Every way the running workers differ from the plan compiled from the files on disk."""
    found = [
        Drift(kind="no_worker", subject=pool, detail=f"pool '{pool}' has no live worker")
        for pool in plan.workers
        if not snap.workers_of(pool)
    ]
    for worker in snap.workers:
        declared = plan.workers.get(worker.pool)
        if declared is None:
            found.append(
                Drift(
                    kind="unknown_pool",
                    subject=worker.node,
                    detail=f"worker {worker.node} serves pool '{worker.pool}', "
                    f"which the config does not declare",
                )
            )
            continue
        found += _worker_drift(worker, declared, plan)
    return found


def _worker_drift(worker: Worker, declared: WorkerPlan, plan: Plan) -> list[Drift]:
    queues = declared.queues
    # Each of a pool's processes is a node of its own with its share of the slots.
    concurrency = max(1, declared.concurrency // declared.processes)
    share = (
        f" (each of its {declared.processes} processes: {declared.concurrency} slots in all)"
        if declared.processes > 1
        else ""
    )
    found = []
    extra = sorted(set(worker.queues) - set(queues))
    missing = sorted(set(queues) - set(worker.queues))
    parts = []
    if extra:
        parts.append(f"consumes {', '.join(extra)}, not declared for pool '{worker.pool}'")
    if missing:
        parts.append(f"does not consume {', '.join(missing)}")
    if parts:
        found.append(
            Drift(kind="queues", subject=worker.node, detail=f"{worker.node} {'; '.join(parts)}")
        )
    if worker.concurrency != concurrency:
        found.append(
            Drift(
                kind="concurrency",
                subject=worker.node,
                detail=f"{worker.node} runs concurrency {worker.concurrency}, "
                f"the config says {concurrency}{share}",
            )
        )
    if worker.config_checksum != plan.config_checksum:
        found.append(
            Drift(
                kind="config",
                subject=worker.node,
                detail=f"{worker.node} was started from config "
                f"{worker.config_checksum[:12] or 'unknown'}, the files on disk are "
                f"{plan.config_checksum[:12]}: restart it to apply the config",
            )
        )
    return found


def fires(plan: Plan, snap: Snapshot) -> list[Fire]:
    """Each schedule's last send (from beat's state in Redis) and next fire time."""
    now = datetime.fromtimestamp(snap.taken_at, UTC)
    return [
        Fire(
            schedule=entry.name,
            task=entry.target,
            last=snap.beat.last_run.get(entry.name),
            next=next_fire(entry, snap.beat.last_run.get(entry.name), now),
        )
        for entry in plan.beat.values()
    ]


def next_fire(entry: ScheduleEntry, last: datetime | None, now: datetime) -> datetime | None:
    """What beat sends next (runtime/sending/beat.py): the next fire after now (`every`
    fires fall on multiples of the interval), plus that fire's jitter."""
    if not entry.enabled:
        return None
    try:
        fire = cron.next_fire(entry.cron, entry.every, entry.timezone, now)
    except (ValueError, OverflowError):
        return None
    return fire + timedelta(seconds=cron.jitter_delay(entry.name, fire, entry.jitter))
