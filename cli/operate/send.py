"""`air send TASK`: enqueue a task by name, routed by the config; optionally wait for it."""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

import click

from cli import exit_codes
from cli.common import as_json_arg, celery_app, pick, ping_backend, ping_broker, plan_or_fail
from cli.operate.workflow_send import send_workflow
from cli.options import CliOptions, config_option, pass_options, seconds_option
from runtime.config.errors import AirError, BrokerUnreachable, UsageError
from runtime.config.redact import redact

EPILOG = """\b
Examples:
  air send debug --args '[1, 2]'
  air send contacts.process --kwargs '{"contact_id": 7}' --wait
  air send data.export --kwargs '{"user_id": 1}' --wait --timeout 600
  air send --workflow nightly-pipeline --wait
  air send contacts.process --many calls.jsonl     one call a line, pipelined
  jq -c '{kwargs: {contact_id: .}}' ids.json | air send contacts.process --many -

\b
Sending needs only the broker; --wait also needs the result backend and checks it before
sending. Either one not answering (or not being Redis) exits 3 at once.
"""


class TaskFailed(AirError):
    """Raised when a task waited for with --wait ends in failure."""

    exit_code = exit_codes.CONFIG_ERROR


@click.command(epilog=EPILOG)
@config_option
@click.argument("task", required=False)
@click.option(
    "--workflow",
    metavar="NAME",
    help="Send the workflow NAME of workflows.yaml instead of a task.",
)
@click.option("--args", "args_json", metavar="JSON", help="Positional arguments, a JSON list.")
@click.option("--kwargs", "kwargs_json", metavar="JSON", help="Keyword arguments, a JSON object.")
@click.option(
    "--countdown",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds to wait before the task may start.",
)
@click.option("--wait", is_flag=True, help="Wait for the result and print it (progress on stderr).")
@click.option(
    "--many",
    "many",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help='Send once per line of FILE (JSONL, "-" for stdin): a list of args or '
    '{"args": [...], "kwargs": {...}}; pipelined. Prints one task id a line.',
)
@seconds_option("--timeout", 300.0, "Seconds --wait waits before giving up.")
@pass_options
def send(
    options: CliOptions,
    task: str | None,
    workflow: str | None,
    args_json: str | None,
    kwargs_json: str | None,
    countdown: float | None,
    wait: bool,
    many: IO[str] | None,
    timeout: float,
) -> None:
    """Enqueue TASK on the queue and with the priority the config gives it (or a workflow)."""
    if (task is None) == (workflow is None):
        raise UsageError("give a TASK or --workflow NAME (one of the two)")
    if workflow is not None:
        if args_json or kwargs_json or countdown is not None:
            raise UsageError(
                "--args, --kwargs and --countdown apply to a task, not to --workflow",
                hint="a workflow's steps take their arguments from workflows.yaml",
            )
        send_workflow(options, workflow, wait, timeout)
        return
    assert task is not None
    args = as_json_arg(args_json, "--args", list)
    kwargs = as_json_arg(kwargs_json, "--kwargs", dict)
    if many is not None and (wait or args_json or kwargs_json):
        raise UsageError(
            "--many takes the arguments from FILE; it cannot be used with "
            "--args, --kwargs or --wait",
            hint="put every call in FILE",
        )
    plan = plan_or_fail(options)
    policy = plan.tasks[pick(task, plan.tasks, "task")]
    calls = _read_calls(many) if many is not None else None
    ping_broker(plan.celery)
    if wait:  # before publishing: a task nobody can wait for should not be sent
        ping_backend(plan.celery)
    app = celery_app(plan)
    queue, priority = plan.route(policy.name)
    if calls is not None:
        from runtime.sending.bulk import send_many

        ids = send_many(app, policy.name, calls, countdown=countdown, expires=policy.expires)
        click.echo(f"sent {len(ids)} x {policy.name} to {queue} (priority {priority})", err=True)
        click.echo("\n".join(ids))
        return
    result = app.send_task(
        policy.name,
        args=args,
        kwargs=kwargs,
        countdown=countdown,
        expires=policy.expires,
        # Waiting asks for the result; otherwise the task's `result` policy decides.
        ignore_result=False if wait else None,
    )
    if getattr(result, "air_duplicate", False):
        click.echo(
            f"not sent: {policy.name}[{result.id}] with the same key is already queued or "
            f"running (unique for {policy.unique_for:g}s)",
            err=True,
        )
    else:
        click.echo(f"sent {policy.name}[{result.id}] to {queue} (priority {priority})", err=True)
    click.echo(result.id)
    if wait:
        _wait(result, timeout, options.verbosity > 0)


def _read_calls(source: IO[str]) -> list[dict[str, Any]]:
    """Every line of a JSONL file as one call; blank lines are skipped."""
    from runtime.sending.bulk import as_call

    calls = []
    name = getattr(source, "name", "-")
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            args, kwargs = as_call(json.loads(line))
            calls.append({"args": args, "kwargs": kwargs})
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise UsageError(f"{name}:{number}: {exc}", hint="one JSON call a line") from None
    return calls


def _wait(result: Any, timeout: float, show_progress: bool) -> None:
    import redis

    try:
        _poll(result, timeout, show_progress)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        url = redact(result.backend.url or "")
        raise BrokerUnreachable(
            f"the result backend at {url} stopped answering while waiting for task "
            f"{result.id}: {exc}",
            hint="the task was sent; its result is stored once the result backend is back",
        ) from None


def _poll(result: Any, timeout: float, show_progress: bool) -> None:
    deadline = time.monotonic() + timeout
    bar = _ProgressBar() if show_progress else None
    while time.monotonic() < deadline:
        state = result.state
        if state == "PROGRESS" and bar is not None:
            bar.update(result.info or {})
        elif state == "SUCCESS":
            if bar:
                bar.close()
            click.echo(json.dumps(result.result, indent=2, default=str))
            return
        elif state in ("FAILURE", "REVOKED"):
            if bar:
                bar.close()
            raise TaskFailed(
                f"task {result.id} ended in {state}: {result.result!r}",
                hint=f"inspect it with `air dead show {result.id}`",
            )
        time.sleep(0.1)
    raise TaskFailed(
        f"task {result.id} did not finish within {timeout:g}s (state {result.state})",
        hint="raise --timeout, or check that a pool consumes its queue (`air pools`)",
    )


class _ProgressBar:
    """done/total from a task's PROGRESS state, redrawn in place on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def update(self, info: dict[str, Any]) -> None:
        done, total = int(info.get("done", 0)), int(info.get("total", 0) or 0)
        width = 30
        filled = int(width * done / total) if total else 0
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total or '?'}"
        if line == self.last:
            return
        self.last = line
        click.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def close(self) -> None:
        if self.tty and self.last:
            click.echo("", err=True)
