"""`air health`: a Snapshot judged against the plan, one named Check per pool, queue and beat."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from runtime.broker.queues import QueueDepth
from runtime.compiler.plan import Plan, QueuePlan
from runtime.config.units import format_duration
from runtime.process.observe import Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    kind: str  # broker | pool | beat | queue
    subject: str  # the pool, queue or broker it is about
    ok: bool
    detail: str  # what was found, and against which limit when it failed
    what: str | None = None  # the failing measure: workers, lock, max_wait, max_depth
    value: float | None = None  # how much was measured (a failing check)
    limit: float | None = None  # the bound it broke

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(plan: Plan, snap: Snapshot, broker: str) -> list[Check]:
    """Every check, in a stable order: broker, pools, beat (when schedules exist), queues."""
    checks = [Check(kind="broker", subject=broker, ok=True, detail="answers PING")]
    checks += [_pool(name, snap) for name in plan.workers]
    if any(entry.enabled for entry in plan.beat.values()):
        checks.append(_beat(snap))
    for queue in plan.queues:
        checks += _queue(queue, snap.queue(queue.name), snap.taken_at)
    return checks


def _pool(pool: str, snap: Snapshot) -> Check:
    nodes = [w.node for w in snap.workers_of(pool)]
    if not nodes:
        return Check(
            kind="pool",
            subject=pool,
            ok=False,
            detail="no live worker answered",
            what="workers",
            value=0,
            limit=1,
        )
    count = f"{len(nodes)} worker{'s' if len(nodes) > 1 else ''}"
    return Check(kind="pool", subject=pool, ok=True, detail=f"{count}: {', '.join(nodes)}")


def _beat(snap: Snapshot) -> Check:
    owner = snap.beat.owner
    if owner is None:
        return Check(
            kind="beat",
            subject="beat",
            ok=False,
            detail="no beat holds the broker's beat lock: schedules are not being sent",
            what="lock",
        )
    return Check(kind="beat", subject="beat", ok=True, detail=f"running ({owner})")


def _slo(
    queue: QueuePlan, what: str, detail: str, value: float | None, limit: float, over: bool
) -> Check:
    """One SLO check of a queue; only a breach names the SLO, its value and its limit."""
    return Check(
        kind="queue",
        subject=queue.name,
        ok=not over,
        detail=detail,
        what=what if over else None,
        value=value if over else None,
        limit=limit if over else None,
    )


def _queue(queue: QueuePlan, depth: QueueDepth, now: float) -> list[Check]:
    """The depth check when the queue sets max_depth, the wait check when it sets max_wait;
    a queue without an SLO gets one passing check that reports what it holds."""
    age = depth.oldest_age(now)
    shown = _shown(depth, age)
    checks = []
    if queue.slo_max_depth is not None:
        over = depth.depth > queue.slo_max_depth
        detail = f"{depth.depth} waiting, max_depth {queue.slo_max_depth}"
        checks.append(_slo(queue, "max_depth", detail, depth.depth, queue.slo_max_depth, over))
    if queue.slo_max_wait is not None:
        limit = format_duration(timedelta(seconds=queue.slo_max_wait))
        over = age is not None and age > queue.slo_max_wait
        waited = round(age, 1) if age is not None else None
        checks.append(_slo(queue, "max_wait", f"{shown}, max_wait {limit}", waited,
                           queue.slo_max_wait, over))
    if not checks:
        checks.append(Check(kind="queue", subject=queue.name, ok=True, detail=f"{shown}, no SLO"))
    return checks


def _shown(depth: QueueDepth, age: float | None) -> str:
    if not depth.depth:
        return "empty"
    if age is None:
        return f"{depth.depth} waiting, oldest age unknown (unstamped)"
    unknown = " (some unstamped)" if depth.unstamped else ""
    return f"{depth.depth} waiting, oldest {age:.1f}s{unknown}"
