"""`air status`: pools, queues and beat as declared beside as running, and the drift flags."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from cli.common import celery_app, echo_table, plan_or_fail
from cli.options import CliOptions, config_option, format_option, pass_options, reply_timeout_option
from runtime.compiler.plan import Plan
from runtime.config.units import format_duration

if TYPE_CHECKING:
    from runtime.broker.queues import QueueDepth
    from runtime.process.observe import Snapshot
    from runtime.process.status import Drift, Fire

STATUS_EPILOG = """\b
Examples:
  air status                       declared vs running, drift flags at the end
  air status --format json | jq '.drift'
"""


@click.command(epilog=STATUS_EPILOG)
@config_option
@format_option(["text", "json"], "text")
@reply_timeout_option("Seconds to wait for worker replies after the last one.")
@pass_options
def status(options: CliOptions, output_format: str, timeout: float) -> None:
    """Show what runs beside what the config declares: workers per pool, queue depths and
    ages against their SLOs, beat and its schedules, and every drift between them."""
    from runtime.process import observe
    from runtime.process import status as view

    plan = plan_or_fail(options)
    snap = observe.snapshot(celery_app(plan), plan, timeout)
    drift, fires = view.drift(plan, snap), view.fires(plan, snap)
    if output_format == "json":
        click.echo(json.dumps(_document(plan, snap, drift, fires), indent=2))
        return
    _pools(plan, snap)
    click.echo()
    _queues(plan, snap)
    click.echo()
    _beat(snap, fires, scheduled=bool(plan.beat))
    click.echo()
    if snap.workflows:
        _workflows(snap)
        click.echo()
    if not drift:
        click.echo("drift: none")
        return
    click.echo(f"drift: {len(drift)}")
    for item in drift:
        click.echo(f"  {item.kind:<12}  {item.detail}")


def _pools(plan: Plan, snap: Snapshot) -> None:
    rows = []
    for pool, declared in plan.workers.items():
        workers = snap.workers_of(pool)
        for w in workers:
            rows.append(
                [
                    pool,
                    w.node,
                    f"{w.processes}/{declared.concurrency}",
                    str(w.active),
                    str(w.reserved),
                    str(w.processed),
                    ",".join(w.queues),
                ]
            )
        if not workers:
            rows.append([pool, "-", f"0/{declared.concurrency}", "-", "-", "-", "(no worker)"])
    rows += [
        [
            w.pool,
            w.node,
            str(w.processes),
            str(w.active),
            str(w.reserved),
            str(w.processed),
            ",".join(w.queues),
        ]
        for w in snap.workers
        if w.pool not in plan.workers
    ]
    echo_table(rows, ["POOL", "WORKER", "PROCESSES", "ACTIVE", "RESERVED", "PROCESSED", "QUEUES"])


def _queues(plan: Plan, snap: Snapshot) -> None:
    rows = []
    for queue in plan.queues:
        depth = snap.queue(queue.name)
        age = depth.oldest_age(snap.taken_at)
        rows.append(
            [
                queue.name,
                str(depth.depth),
                _by_priority(depth),
                _age(depth, age),
                _slo(queue.slo_max_wait, queue.slo_max_depth),
            ]
        )
    echo_table(rows, ["QUEUE", "DEPTH", "BY PRIORITY", "OLDEST", "SLO"])


def _by_priority(depth: QueueDepth) -> str:
    """`p10:3 p5:1`, most urgent first."""
    return " ".join(f"p{p}:{n}" for p, n in sorted(depth.by_priority.items(), reverse=True)) or "-"


def _age(depth: QueueDepth, age: float | None) -> str:
    if not depth.depth:
        return "-"
    if age is None:
        return "unknown"
    return f"{age:.1f}s" + ("+?" if depth.unstamped else "")


def _slo(max_wait: float | None, max_depth: int | None) -> str:
    parts = []
    if max_wait is not None:
        parts.append(f"max_wait {format_duration(timedelta(seconds=max_wait))}")
    if max_depth is not None:
        parts.append(f"max_depth {max_depth}")
    return ", ".join(parts) or "-"


def _beat(snap: Snapshot, fires: list[Fire], *, scheduled: bool) -> None:
    owner = snap.beat.owner
    click.echo(f"beat: running ({owner})" if owner else "beat: not running")
    if not scheduled:
        return
    rows = [[f.schedule, f.task, _time(f.last), _time(f.next, "disabled")] for f in fires]
    echo_table(rows, ["SCHEDULE", "TASK", "LAST", "NEXT"])


def _workflows(snap: Snapshot) -> None:
    """Runs in flight now, and every run that ended (for as long as the counts are kept)."""
    rows = [
        [name, str(c["running"]), str(c["succeeded"]), str(c["failed"])]
        for name, c in snap.workflows.items()
    ]
    echo_table(rows, ["WORKFLOW", "RUNNING", "SUCCEEDED", "FAILED"])


def _time(moment: datetime | None, missing: str = "-") -> str:
    return moment.isoformat(timespec="seconds") if moment else missing


def _document(plan: Plan, snap: Snapshot, drift: list[Drift], fires: list[Fire]) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "pools": [
            {
                "pool": pool,
                "declared": {"queues": list(w.queues), "concurrency": w.concurrency},
                "workers": [asdict(x) for x in snap.workers_of(pool)],
            }
            for pool, w in plan.workers.items()
        ],
        "other_workers": [asdict(x) for x in snap.workers if x.pool not in plan.workers],
        "queues": [
            {
                "queue": q.name,
                "depth": snap.queue(q.name).depth,
                "by_priority": {str(p): n for p, n in snap.queue(q.name).by_priority.items()},
                "oldest_age_seconds": snap.queue(q.name).oldest_age(snap.taken_at),
                "unstamped": snap.queue(q.name).unstamped,
                "slo": {"max_wait": q.slo_max_wait, "max_depth": q.slo_max_depth},
            }
            for q in plan.queues
        ],
        "beat": {
            "running": snap.beat.alive,
            "owner": snap.beat.owner,
            "schedules": [
                {
                    "schedule": f.schedule,
                    "task": f.task,
                    "last": _time(f.last, ""),
                    "next": _time(f.next, ""),
                }
                for f in fires
            ],
        },
        "workflows": snap.workflows,
        "config_checksum": plan.config_checksum,
        "drift": [d.to_dict() for d in drift],
    }
