"""Rules on names: every queue, task and pool referenced exists, and every queue is consumed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Origin
from runtime.config.rules.context import Context, did_you_mean


def _undeclared(
    ctx: Context, code: str, message: str, origin: Origin, name: str, declared: Iterable[str],
    kind: str,
) -> Diagnostic:
    """A reference to a `kind` (queues, tasks) not declared; the hint names the close ones."""
    return ctx.error(code, message, origin, hint=did_you_mean(name, declared, f"declared {kind}"))


def queue_references(ctx: Context) -> Iterator[Diagnostic]:
    """Every queue a pool consumes, a task routes to or a schedule overrides with is declared."""
    queues = ctx.config.queues
    for pool in ctx.config.pools.values():
        for index, name in enumerate(pool.queues):
            if name not in queues:
                yield ctx.error(
                    "AIR203",
                    f"pool '{pool.name}' consumes queue '{name}', which is not declared",
                    pool.origin.at("queues", index),
                    hint=did_you_mean(name, queues, "declared queues"),
                )
    config = ctx.config
    if config.default_queue not in queues:
        yield ctx.error(
            "AIR201",
            f"the default queue '{config.default_queue}' is not declared",
            config.defaults_origin.at("queue"),
            hint=did_you_mean(config.default_queue, queues, "declared queues")
            + "; tasks without their own 'queue:' and unknown task names go there",
        )
    for task in ctx.config.tasks.values():
        origin = task.origins.get("queue", task.origin)
        if task.queue not in queues and origin.pointer.startswith("/tasks/"):
            yield _undeclared(
                ctx, "AIR201", f"task '{task.name}' routes to queue '{task.queue}', which is not "
                "declared", origin, task.queue, queues, "queues",
            )
    for schedule in ctx.config.schedules.values():
        if schedule.queue is not None and schedule.queue not in queues:
            yield _undeclared(
                ctx, "AIR201", f"schedule '{schedule.name}' sends to queue '{schedule.queue}', "
                "which is not declared", schedule.origin.at("queue"), schedule.queue, queues,
                "queues",
            )


def queue_consumers(ctx: Context) -> Iterator[Diagnostic]:
    """Every declared queue is consumed by some pool; queues nothing routes to are flagged."""
    consumed = {q for pool in ctx.config.pools.values() for q in pool.queues}
    routed = (
        {t.queue for t in ctx.config.tasks.values()}
        | {ctx.config.default_queue}
        | {s.queue for s in ctx.config.schedules.values() if s.queue}
    )
    pools = ctx.config.pools
    for queue in ctx.config.queues.values():
        if queue.name not in consumed:
            yield ctx.error(
                "AIR204",
                f"queue '{queue.name}' is not consumed by any pool, so "
                f"tasks sent to it would wait forever",
                queue.origin,
                key=True,
                hint=f"add '{queue.name}' to the queues of a pool "
                f"({', '.join(sorted(pools)) or 'declare one under pools:'})",
            )
        elif queue.name not in routed:
            yield ctx.warning(
                "AIR206",
                f"nothing routes to queue '{queue.name}'",
                queue.origin,
                key=True,
                hint="route a task to it with 'queue:', or remove it",
            )


def schedule_references(ctx: Context) -> Iterator[Diagnostic]:
    tasks = ctx.config.tasks
    for schedule in ctx.config.schedules.values():
        if schedule.task and schedule.task not in tasks:
            yield _undeclared(
                ctx, "AIR202", f"schedule '{schedule.name}' runs task '{schedule.task}', which "
                "is not declared in queues.yaml", schedule.origin.at("task"), schedule.task,
                tasks, "tasks",
            )
