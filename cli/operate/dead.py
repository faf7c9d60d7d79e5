"""`air dead`: inspect, replay and purge the dead-letter store."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import click

from cli.common import celery_app, echo_table, ping_broker, plan_or_fail
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.broker.clients import broker_client
from runtime.broker.deadletter import DeadLetter, DeadLetterStore
from runtime.compiler.plan import Plan
from runtime.config.errors import AirError, UsageError

EPILOG = """\b
Examples:
  air dead list                         newest failures first
  air dead show 3f6c...                 one entry with its traceback
  air dead replay 3f6c...               send it again (a new task id)
  air dead replay --all --task sync.email
  air dead purge --task debug --yes
"""


@click.group(epilog=EPILOG)
def dead() -> None:
    """Tasks that ended without success: list, show, replay, purge."""


def _store(options: CliOptions) -> tuple[Plan, DeadLetterStore]:
    plan = plan_or_fail(options)
    ping_broker(plan.celery)
    return plan, DeadLetterStore(broker_client(plan.celery, timeout=10, connect_timeout=5))


@dead.command("list")
@config_option
@click.option("--task", help="Only this task name.")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="At most this many entries.",
)
@format_option(["text", "json"], "text")
@pass_options
def list_letters(options: CliOptions, task: str | None, limit: int, output_format: str) -> None:
    """List dead letters, newest first."""
    _, store = _store(options)
    letters = store.list(limit=limit, task=task)
    if output_format == "json":
        click.echo(json.dumps([asdict(letter) for letter in letters], indent=2))
        return
    rows = [
        [
            _time(x.failed_at),
            x.id,
            x.task,
            x.reason,
            str(x.retries),
            f"{x.exception}: {x.message}"[:60],
        ]
        for x in letters
    ]
    echo_table(rows, ["FAILED AT (UTC)", "ID", "TASK", "REASON", "RETRIES", "ERROR"])
    click.echo(f"{len(letters)} shown, {store.count()} in the store", err=True)


@dead.command("show")
@config_option
@click.argument("task_id")
@pass_options
def show_letter(options: CliOptions, task_id: str) -> None:
    """Show one dead letter in full, traceback included."""
    _, store = _store(options)
    click.echo(json.dumps(asdict(_get(store, task_id)), indent=2))


@dead.command("replay")
@config_option
@click.argument("task_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every entry (see --task).")
@click.option("--task", help="With --all: only this task name.")
@pass_options
def replay(
    options: CliOptions, task_ids: tuple[str, ...], replay_all: bool, task: str | None
) -> None:
    """Send dead letters again with their arguments, routed by the current config. A failed
    workflow step resumes its workflow from that step (the steps before it do not run again)."""
    plan, store = _store(options)
    if replay_all == bool(task_ids):
        raise UsageError("give task ids or --all, not both and not neither")
    letters = (
        store.list(limit=store.count() or 1, task=task)
        if replay_all
        else [_get(store, i) for i in task_ids]
    )
    app = celery_app(plan)
    kept: list[str] = []  # unique tasks whose key another task holds
    for letter in letters:
        step = letter.workflow
        if step and step["name"] in plan.workflows:
            from runtime.broker.workflow_runs import WorkflowRuns
            from runtime.sending import workflows

            workflow = plan.workflows[step["name"]]
            runs = WorkflowRuns(store.client)
            workflows.resume(app, plan, workflow, runs, step["id"], step["step"], letter.args)
            store.remove(letter.id)
            click.echo(
                f"resumed workflow {step['name']}[{step['id']}] from step {step['step']} "
                f"({letter.task}[{letter.id}])"
            )
            continue
        policy = plan.tasks.get(letter.task)
        result = app.send_task(
            letter.task,
            args=letter.args,
            kwargs=letter.kwargs,
            expires=policy.expires if policy else None,
        )
        if getattr(result, "air_duplicate", False):  # a unique task's send was a no-op
            kept.append(letter.id)
            click.echo(
                f"kept {letter.task}[{letter.id}]: {letter.task}[{result.id}] with the same "
                "unique key is queued or running, so nothing was sent",
                err=True,
            )
            continue
        store.remove(letter.id)
        click.echo(f"replayed {letter.task}[{letter.id}] as {result.id}")
    click.echo(f"{len(letters) - len(kept)} replayed", err=True)
    if kept:
        raise AirError(
            f"{len(kept)} dead letter(s) not replayed and kept in the store",
            hint="replay them once the task holding their unique key has ended "
            f"(air dead replay {' '.join(kept)})",
        )


@dead.command("purge")
@config_option
@click.option("--task", help="Only this task name.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_options
def purge(options: CliOptions, task: str | None, yes: bool) -> None:
    """Delete dead letters for good."""
    _, store = _store(options)
    what = f"dead letters of {task}" if task else "all dead letters"
    if not yes:
        click.confirm(f"delete {what}?", abort=True, err=True)
    click.echo(f"{store.purge(task=task)} deleted")


def _get(store: DeadLetterStore, task_id: str) -> DeadLetter:
    letter = store.get(task_id)
    if letter is None:
        raise UsageError(f"no dead letter with id {task_id}", hint="`air dead list` shows them")
    return letter


def _time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
