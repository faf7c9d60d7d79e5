"""Rules on delivery: what an at-most-once queue can and cannot promise."""

from __future__ import annotations

from collections.abc import Iterator

from runtime.config.diagnostics import Diagnostic
from runtime.config.rules.context import Context, first_few


def at_most_once_retries(ctx: Context) -> Iterator[Diagnostic]:
    """A task that retries wants its work done; an at-most-once queue may lose it."""
    for queue in ctx.config.queues.values():
        if queue.delivery != "at_most_once":
            continue
        retrying = sorted(
            t.name for t in ctx.config.tasks.values() if t.queue == queue.name and t.retry.max > 0
        )
        if retrying:
            yield ctx.warning(
                "AIR312",
                f"queue '{queue.name}' is at_most_once, but tasks routed to it retry: "
                + first_few(retrying),
                queue.origin.at("delivery"),
                hint="a worker that dies mid-task loses the task, retries or not: use "
                "at_least_once for work that must be done, or set retry.max: 0 on these tasks",
            )
