"""Rules on queue service level objectives (`queues.NAME.slo`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runtime.config.diagnostics import Diagnostic
from runtime.config.rules.context import Context
from runtime.config.units import format_duration

# Ages are measured against the sender's clock (the send stamp): below this, clock skew between
# hosts and the latency of the check itself decide a breach more than the queue does.
MEASURABLE_WAIT = timedelta(seconds=1)


def queue_slos(ctx: Context) -> Iterator[Diagnostic]:
    """slo.max_wait is positive and long enough to measure."""
    for queue in ctx.config.queues.values():
        wait = queue.slo.max_wait if queue.slo else None
        if wait is None:
            continue
        where = queue.origin.at("slo", "max_wait")
        if wait <= timedelta(0):
            yield ctx.error(
                "AIR308",
                f"slo.max_wait of queue '{queue.name}' must be greater than zero",
                where,
                hint="remove max_wait, or give it a positive duration such as 30s",
            )
        elif wait < MEASURABLE_WAIT:
            yield ctx.warning(
                "AIR310",
                f"slo.max_wait {format_duration(wait)} of queue '{queue.name}' is below 1s: "
                f"waits are measured from the sender's clock, so clock skew between hosts "
                f"decides a breach",
                where,
                hint="use at least 1s",
            )
