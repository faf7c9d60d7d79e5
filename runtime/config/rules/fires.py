"""Rules on how beat sends a schedule's fires: `jitter` against the period, `catch_up` backlog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runtime.config import cron
from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Schedule
from runtime.config.rules.context import Context
from runtime.config.units import format_duration

# A return after downtime sends every fire of the catch-up window at once; past this many the
# burst is more likely a unit mistake (`catch_up: 1d` on an `every: 1s` schedule) than a wish.
MAX_CATCH_UP_FIRES = 100


def fire_timing(ctx: Context) -> Iterator[Diagnostic]:
    """Jitter shorter than the period (so fires keep their order); a bounded catch-up burst."""
    for schedule in ctx.config.schedules.values():
        if not schedule.jitter and not schedule.catch_up:
            continue
        period = _period(schedule)
        if period is None:
            continue
        if schedule.jitter and schedule.jitter >= period:
            yield ctx.error(
                "AIR408",
                f"schedule '{schedule.name}' has jitter {format_duration(schedule.jitter)}, "
                f"not shorter than its period {format_duration(period)}",
                schedule.origin.at("jitter"),
                hint="a delay as long as the period would run into the next fire; "
                f"use a jitter below {format_duration(period)}",
            )
        fires = int(schedule.catch_up / period) if period else 0
        if fires > MAX_CATCH_UP_FIRES:
            yield ctx.warning(
                "AIR409",
                f"schedule '{schedule.name}' may send {fires} missed fires at once: catch_up "
                f"{format_duration(schedule.catch_up)} spans that many periods of "
                f"{format_duration(period)}",
                schedule.origin.at("catch_up"),
                hint=f"shorten catch_up to at most {MAX_CATCH_UP_FIRES} periods",
            )


def _period(schedule: Schedule) -> timedelta | None:
    """The shortest time between two fires, or None when the timing itself is invalid (other
    rules report that)."""
    if schedule.every is not None:
        return schedule.every if schedule.every >= timedelta(seconds=1) else None
    if schedule.cron is None or cron.expression_problem(schedule.cron):
        return None
    timezone = "UTC" if cron.timezone_problem(schedule.timezone) else schedule.timezone
    floor = cron.gap_floor(schedule.cron)
    if floor > max(schedule.jitter, schedule.catch_up / MAX_CATCH_UP_FIRES):
        return floor  # no gap is shorter than either bound: skip the exact (slow) walk
    return cron.shortest_gap(schedule.cron, timezone)
