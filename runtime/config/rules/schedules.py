"""Rules on schedules: cron and `every` timing against task (or workflow) limits and overlap;
time zones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from runtime.config import cron
from runtime.config.diagnostics import Diagnostic
from runtime.config.model import Schedule
from runtime.config.rules.context import Context, has
from runtime.config.rules.workflows import longest_run
from runtime.config.units import format_duration


def schedule_timing(ctx: Context) -> Iterator[Diagnostic]:
    """Valid interval, cron and time zone; warn when runs can pile up."""
    for schedule in ctx.config.schedules.values():
        problems = list(_timing_problems(ctx, schedule))
        yield from problems
        run = _longest_run(ctx, schedule)
        if (
            problems
            or run is None
            or schedule.overlap == "skip"
            or not schedule.enabled
            or cron.timezone_problem(schedule.timezone)
        ):
            continue
        what, longest = run
        if schedule.every is not None:
            period: timedelta | None = schedule.every
        elif schedule.cron is not None:
            if cron.gap_floor(schedule.cron) >= longest:
                continue  # no gap can be that short: skip the exact (slow) walk
            period = cron.shortest_gap(schedule.cron, schedule.timezone)
        else:  # neither, or one the schema rejected: nothing to time
            continue
        if period is not None and period < longest:
            yield ctx.warning(
                "AIR403",
                f"schedule '{schedule.name}' fires every "
                f"{format_duration(period)} but {what} may run for "
                f"{format_duration(longest)}: runs can pile up",
                schedule.origin,
                key=True,
                hint="set 'overlap: skip', or lengthen the period",
            )


def _longest_run(ctx: Context, schedule: Schedule) -> tuple[str, timedelta] | None:
    """What the schedule runs, and how long one run may take at most (None: unbounded, or
    nothing declared to run)."""
    if schedule.workflow:
        workflow = ctx.config.workflows.get(schedule.workflow)
        longest = longest_run(ctx.config, workflow.steps) if workflow else None
        return None if longest is None else (f"workflow '{schedule.workflow}'", longest)
    task = ctx.config.tasks.get(schedule.task)
    longest = (task.time_limit.hard or task.time_limit.soft) if task else None
    return None if longest is None else (f"task '{schedule.task}'", longest)


def _timing_problems(ctx: Context, schedule: Schedule) -> Iterator[Diagnostic]:
    own_tz = schedule.origin.at("timezone")
    timezone = schedule.timezone
    if cron.timezone_problem(timezone):
        if has(ctx, own_tz):  # the file-wide time zone is checked once, by timezones()
            yield ctx.error(
                "AIR402",
                f"unknown time zone '{timezone}'",
                own_tz,
                hint=cron.timezone_problem(timezone),
            )
        timezone = "UTC"  # still check the cron expression itself
    if schedule.every is not None:
        if schedule.every < timedelta(seconds=1):
            yield ctx.error(
                "AIR405",
                f"schedule '{schedule.name}' fires every "
                f"{schedule.every.total_seconds():g}s, less than a second",
                schedule.origin.at("every"),
                hint="use an interval of 1s or more",
            )
        return
    if schedule.cron is None:
        return
    problem = cron.expression_problem(schedule.cron)
    if problem:
        yield ctx.error(
            "AIR401",
            f"invalid cron expression '{schedule.cron}' in schedule '{schedule.name}': {problem}",
            schedule.origin.at("cron"),
            hint="five fields: minute hour day-of-month month day-of-week, "
            'e.g. "*/5 * * * *"; or @hourly, @daily, @weekly, @monthly',
        )
        return
    try:
        if cron.may_never_fire(schedule.cron):
            cron.next_fires(schedule.cron, timezone, datetime.now(UTC), 1)
    except ValueError:
        yield ctx.error(
            "AIR404",
            f"cron expression '{schedule.cron}' of schedule '{schedule.name}' never fires",
            schedule.origin.at("cron"),
            hint="check day-of-month against month (30 February never comes)",
        )


def timezones(ctx: Context) -> Iterator[Diagnostic]:
    """The file-wide time zone is an IANA name."""
    problem = cron.timezone_problem(ctx.config.timezone)
    if problem and ctx.config.schedules_origin.pointer == "":
        yield ctx.error(
            "AIR402",
            f"unknown time zone '{ctx.config.timezone}'",
            ctx.config.schedules_origin.at("timezone"),
            hint=problem,
        )


def daylight_saving(ctx: Context) -> Iterator[Diagnostic]:
    """Warn when a cron schedule's fire times fall in an hour daylight saving skips or
    repeats, naming the next such dates and what beat does then."""
    for schedule in ctx.config.schedules.values():
        if (
            schedule.cron is None
            or not schedule.enabled
            or cron.timezone_problem(schedule.timezone)
            or cron.expression_problem(schedule.cron)
        ):
            continue
        try:
            affected = cron.dst_fires(schedule.cron, schedule.timezone, ctx.now)
        except ValueError:  # never fires: AIR404 says so
            continue
        if affected:
            yield ctx.warning(
                "AIR406",
                _dst_message(schedule, affected),
                schedule.origin.at("cron"),
                hint="schedule it outside the hour the clocks change, or use timezone: UTC",
            )


def _dst_message(schedule: Schedule, affected: tuple[cron.DstFire, ...]) -> str:
    parts, times = [], set()
    for kind in ("skipped", "repeated"):
        of_kind = [f for f in affected if f.kind == kind]
        if not of_kind:
            continue
        day = of_kind[0].wall.date()
        first = [f for f in of_kind if f.wall.date() == day]
        times |= {f.wall.strftime("%H:%M") for f in first}
        fired = first[0].fired
        if kind == "skipped":
            parts.append(
                f"skips on {day} (air fires {'it' if len(first) == 1 else 'one run for them'} "
                f"at {fired:%H:%M %Z} instead)"
            )
        else:
            parts.append(
                f"repeats on {day} (air fires {'it' if len(first) == 1 else 'each'} "
                f"once, on the first pass, {fired:%Z})"
            )
    return (
        f"schedule '{schedule.name}' fires at {', '.join(sorted(times))} "
        f"{schedule.timezone}, {'a time' if len(times) == 1 else 'times'} daylight saving "
        f"{' and '.join(parts)}"
    )
