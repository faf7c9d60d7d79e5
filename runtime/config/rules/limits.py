"""Rules on limits: time limits, retry delays and pool sizes against each other and the broker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Autoscale, Pool, Replicas
from runtime.config.rules.context import Context, first_few, line_of
from runtime.config.units import format_duration


def task_limits(ctx: Context) -> Iterator[Diagnostic]:
    """soft < hard; with acks_late, the hard limit stays under the visibility timeout."""
    timeout = ctx.config.broker.visibility_timeout
    timeout_origin = ctx.config.broker.origin.at("visibility_timeout")
    for task in ctx.config.tasks.values():
        limit = task.time_limit
        where = limit.origin or task.origin
        for name in ("soft", "hard"):
            value = getattr(limit, name)
            if value is not None and value <= timedelta(0):
                yield ctx.error(
                    "AIR308",
                    f"{name} time limit of task '{task.name}' must be greater than zero",
                    where.at(name),
                    hint="remove the limit, or give it a positive duration",
                )
        if limit.soft and limit.hard and limit.soft >= limit.hard:
            yield ctx.error(
                "AIR301",
                f"soft time limit {format_duration(limit.soft)} of task "
                f"'{task.name}' is not below its hard limit "
                f"{format_duration(limit.hard)}",
                where.at("soft"),
                hint="the soft limit warns the task before the hard limit kills it: "
                "make soft smaller than hard",
            )
        longest = limit.hard or limit.soft
        if task.acks_late and longest is not None and longest >= timeout:
            yield ctx.error(
                "AIR302",
                f"time limit {format_duration(longest)} of task "
                f"'{task.name}' is not below the broker visibility timeout "
                f"{format_duration(timeout)}: a run that long is delivered again and "
                f"runs twice",
                where.at("hard" if limit.hard else "soft"),
                hint=f"lower the limit, or raise broker.visibility_timeout "
                f"(line {line_of(ctx, timeout_origin)})",
            )
        elif task.acks_late and longest is None:
            yield ctx.warning(
                "AIR302",
                f"task '{task.name}' has no time limit: with acks_late, "
                f"a run longer than the visibility timeout "
                f"{format_duration(timeout)} is delivered again",
                task.origin,
                key=True,
                hint="set time_limit: {soft: ..., hard: ...} on the task or in defaults",
            )


def retry_delays(ctx: Context) -> Iterator[Diagnostic]:
    """Retry delays stay under the visibility timeout; initial <= max_delay."""
    timeout = ctx.config.broker.visibility_timeout
    for task in ctx.config.tasks.values():
        retry = task.retry
        worst = retry.worst_delay()
        origins = retry.origins
        if worst >= timeout:
            key = "max_delay" if retry.backoff == "exponential" else "initial"
            yield ctx.error(
                "AIR303",
                f"retry delay of up to {format_duration(worst)} for task "
                f"'{task.name}' is not below the broker visibility timeout "
                f"{format_duration(timeout)}: a retry waiting that long is "
                f"delivered twice",
                origins.get(key, task.origin),
                hint="lower retry.max_delay, or raise broker.visibility_timeout",
            )
        if retry.backoff != "none" and retry.initial > retry.max_delay:
            yield ctx.warning(
                "AIR304",
                f"retry.initial {format_duration(retry.initial)} of task "
                f"'{task.name}' exceeds retry.max_delay "
                f"{format_duration(retry.max_delay)}; every delay is capped",
                origins.get("initial", task.origin),
                hint="make initial at most max_delay",
            )


def _bounds_in_order(
    ctx: Context, code: str, pool: Pool, key: str, bounds: Autoscale | Replicas
) -> Iterator[Diagnostic]:
    """The pool's `key` (min, max) bounds: min may not exceed max."""
    if bounds.min > bounds.max:
        yield ctx.error(
            code,
            f"{key} min {bounds.min} of pool '{pool.name}' exceeds its max {bounds.max}",
            pool.origin.at(key, "min"),
            hint="make min at most max",
        )


def pool_replicas(ctx: Context) -> Iterator[Diagnostic]:
    """Replica bounds are ordered (the schema already keeps each one in range)."""
    for pool in ctx.config.pools.values():
        yield from _bounds_in_order(ctx, "AIR309", pool, "replicas", pool.replicas)


def pool_limits(ctx: Context) -> Iterator[Diagnostic]:
    """Time limits need prefork or solo; autoscale bounds are ordered; processes split evenly."""
    for pool in ctx.config.pools.values():
        if pool.autoscale:
            yield from _bounds_in_order(ctx, "AIR306", pool, "autoscale", pool.autoscale)
        yield from _processes(ctx, pool)
        if pool.pool != "threads":
            continue
        limited = sorted(
            t.name
            for t in ctx.config.tasks.values()
            if t.queue in pool.queues and (t.time_limit.soft or t.time_limit.hard)
        )
        if limited:
            yield ctx.warning(
                "AIR305",
                f"pool '{pool.name}' uses the {pool.pool} pool, which "
                f"does not enforce time limits, but runs tasks that have them: "
                + first_few(limited),
                pool.origin.at("pool"),
                hint="use pool: prefork or solo, or remove the time limits",
            )


def unique_claims(ctx: Context) -> Iterator[Diagnostic]:
    """unique.for is positive, and long enough to cover a run up to the hard time limit."""
    for task in ctx.config.tasks.values():
        unique = task.unique
        if unique is None:
            continue
        where = task.origin.at("unique", "for")
        longest = task.time_limit.hard or task.time_limit.soft
        if unique.hold <= timedelta(0):
            yield ctx.error(
                "AIR308",
                f"unique.for of task '{task.name}' must be greater than zero",
                where,
                hint="give the claim a positive duration, e.g. for: 10m",
            )
        elif longest is not None and unique.hold < longest:
            yield ctx.warning(
                "AIR320",
                f"unique.for {format_duration(unique.hold)} of task '{task.name}' is shorter "
                f"than its time limit {format_duration(longest)}: the claim can expire while "
                "the task still runs, and a second one could start",
                where,
                hint="make unique.for at least the hard time limit (and the time a task may "
                "wait in its queue)",
            )


def _processes(ctx: Context, pool: Pool) -> Iterator[Diagnostic]:
    """Every process of a pool gets the same number of slots."""
    processes = pool.processes
    if processes is None or processes == 1:
        return
    where = pool.origin.at("processes")
    if pool.autoscale:
        yield ctx.error(
            "AIR311",
            f"pool '{pool.name}' autoscales, which one process does: processes {processes}",
            where,
            hint="remove processes (or set it to 1), or replace autoscale with concurrency",
        )
    elif pool.concurrency % processes:
        yield ctx.error(
            "AIR311",
            f"concurrency {pool.concurrency} of pool '{pool.name}' does not split evenly "
            f"over {processes} processes",
            where,
            hint=f"make concurrency a multiple of {processes}, or change processes",
        )
