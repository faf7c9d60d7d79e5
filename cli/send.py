"""`air send TASK`: enqueue a task by name, routed by the config; optionally wait for it."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from cli import exit_codes
from cli.common import as_json_arg, celery_app, pick, ping_broker, plan_or_fail
from cli.options import CliOptions, config_option, pass_options
from runtime.config.errors import AirError

EPILOG = """\b
Examples:
  air send debug --args '[1, 2]'
  air send contacts.process --kwargs '{"contact_id": 7}' --wait
  air send data.export --kwargs '{"user_id": 1}' --wait --timeout 600
"""


class TaskFailed(AirError):
    """Raised when a task waited for with --wait ends in failure."""

    exit_code = exit_codes.CONFIG_ERROR


@click.command(epilog=EPILOG)
@config_option
@click.argument("task")
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
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds --wait waits before giving up.",
)
@pass_options
def send(
    options: CliOptions,
    task: str,
    args_json: str | None,
    kwargs_json: str | None,
    countdown: float | None,
    wait: bool,
    timeout: float,
) -> None:
    """Enqueue TASK on the queue and with the priority the config gives it."""
    args = as_json_arg(args_json, "--args", list)
    kwargs = as_json_arg(kwargs_json, "--kwargs", dict)
    plan = plan_or_fail(options)
    policy = plan.tasks[pick(task, plan.tasks, "task")]
    ping_broker(plan.celery["broker_url"])
    app = celery_app(plan)
    result = app.send_task(
        policy.name,
        args=args,
        kwargs=kwargs,
        countdown=countdown,
        expires=policy.expires,
        # Waiting asks for the result; otherwise the task's `result` policy decides.
        ignore_result=False if wait else None,
    )
    queue, priority = plan.route(policy.name)
    click.echo(f"sent {policy.name}[{result.id}] to {queue} (priority {priority})", err=True)
    click.echo(result.id)
    if wait:
        _wait(result, timeout, options.verbosity > 0)


def _wait(result: Any, timeout: float, show_progress: bool) -> None:
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
