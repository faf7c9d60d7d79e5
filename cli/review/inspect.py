"""Read-only views of the compiled plan: `air show`, `air pools`, `air schedule`."""

from __future__ import annotations

import json
import os
import shlex
from datetime import datetime, timedelta

import click

from cli.common import echo_table, pick, plan_or_fail
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.compiler.plan import ScheduleEntry
from runtime.config import cron
from runtime.config.redact import redact, redact_data
from runtime.config.units import format_duration

SHOW_EPILOG = """\b
Examples:
  air show                    the plan as YAML
  air show --format json | jq '.celery.task_routes'
"""


@click.command(epilog=SHOW_EPILOG)
@config_option
@format_option(["yaml", "json"], "yaml")
@pass_options
def show(options: CliOptions, output_format: str) -> None:
    """Print the compiled plan: Celery settings, worker commands, beat entries, notes."""
    plan = plan_or_fail(options)
    document = redact_data(plan.to_dict())
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    import yaml

    click.echo(yaml.safe_dump(document, sort_keys=False, width=100), nl=False)


POOLS_EPILOG = """\b
Examples:
  air pools                   every pool with its queues and worker command
"""


@click.command(epilog=POOLS_EPILOG)
@config_option
@pass_options
def pools(options: CliOptions) -> None:
    """List worker pools: queues, concurrency and the exact worker command."""
    plan = plan_or_fail(options)
    rows = []
    for worker in plan.workers.values():
        argv = worker.argv
        child = _flag(argv, "--max-tasks-per-child") or "-"
        rows.append(
            [
                worker.pool,
                ",".join(worker.queues),
                str(worker.concurrency),
                str(worker.processes),
                child,
                _flag(argv, "--pool") or "prefork",
            ]
        )
    echo_table(rows, ["POOL", "QUEUES", "CONCURRENCY", "PROCESSES", "TASKS/CHILD", "TYPE"])
    click.echo("\nworker commands (what `air run POOL` executes, once per process; %i: 1..N):")
    for worker in plan.workers.values():
        times = f" (x{worker.processes})" if worker.processes > 1 else ""
        click.echo(f"  {worker.pool}{times}: {redact(shlex.join(worker.argv))}")


def _flag(argv: tuple[str, ...], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


SCHEDULE_EPILOG = """\b
Examples:
  air schedule                       next fire time of every schedule
  air schedule token-refresh --next 5
"""


@click.command(epilog=SCHEDULE_EPILOG)
@config_option
@click.argument("name", required=False)
@click.option(
    "--next",
    "count",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="How many upcoming fire times to list.",
)
@pass_options
def schedule(options: CliOptions, name: str | None, count: int) -> None:
    """Show upcoming fire times, in each schedule's own time zone."""
    plan = plan_or_fail(options)
    entries = list(plan.beat.values())
    if name is not None:
        entries = [plan.beat[pick(name, plan.beat, "schedule")]]
    now = cron.now(os.environ)
    if name is None and count == 1:
        rows = [[e.name, e.target, e.queue or "-", _when(e), _fires(e, now, 1)[0]] for e in entries]
        echo_table(rows, ["SCHEDULE", "TASK", "QUEUE", "WHEN", "NEXT"])
        return
    for entry in entries:
        where = f" on {entry.queue}" if entry.queue else ""
        click.echo(f"{entry.name}: {entry.target}{where}, {_when(entry)}")
        for fire in _fires(entry, now, count):
            click.echo(f"  {fire}")


def _when(entry: ScheduleEntry) -> str:
    state = "" if entry.enabled else " (disabled)"
    if entry.jitter:
        state = f" + up to {format_duration(timedelta(seconds=entry.jitter))} jitter{state}"
    if entry.every is not None:
        return f"every {format_duration(timedelta(seconds=entry.every))}{state}"
    return f"cron '{entry.cron}' {entry.timezone}{state}"


def _fires(entry: ScheduleEntry, now: datetime, count: int) -> list[str]:
    """The times beat sends the next fires: fire time plus its jitter, in the entry's zone."""
    if not entry.enabled:
        return ["never (disabled)"]
    fires: list[str] = []
    fire = now
    for _ in range(count):
        try:
            fire = cron.next_fire(entry.cron, entry.every, entry.timezone, fire)
            delay = timedelta(seconds=cron.jitter_delay(entry.name, fire, entry.jitter))
            shown = (fire + delay).isoformat(timespec="seconds")
        except (OverflowError, ValueError, OSError):  # a long interval times a large --next
            fires.append("(no later times: past the year 9999)")
            break
        note = cron.dst_note(entry.cron, entry.timezone, fire) if entry.cron else None
        fires.append(f"{shown}  ({note})" if note else shown)
    return fires
