"""`air run POOL` and `air beat`: run Celery's worker or beat with the compiled options."""

from __future__ import annotations

import os
from typing import Any

import click

from cli.common import celery_app, pick, plan_or_fail
from cli.operate.processes import die_with_parent, echo_killed, pool_children, supervise, supervised
from cli.options import CliOptions, config_option, pass_options, seconds_option
from runtime.broker import reach
from runtime.compiler.plan import Plan
from runtime.config.errors import UsageError
from runtime.config.redact import redact
from runtime.config.units import parse_duration

RUN_EPILOG = """\b
Examples:
  air run default                  start the 'default' pool's worker
  air run default --dry-run        print the equivalent celery command instead
  air run default --loglevel DEBUG
  air run default --process 2      only the pool's second process
  air run default --broker-wait 2m  wait up to two minutes for Redis to come up

\b
With the broker down it says at once that it is waiting, and after --broker-wait exits 3.
"""

LOGLEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
BROKER_WAIT = "30s"


class Duration(click.ParamType[float, Any]):
    """`30s`, `5m`, `2h`, `1d` or a number of seconds, as in the config."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        text = str(value)
        try:
            return parse_duration(int(text) if text.isdigit() else text).total_seconds()
        except ValueError:
            self.fail(f"{value!r} is not a duration (30s, 5m, 2h, 1d or seconds)", param, ctx)


def broker_wait_option(function: Any) -> Any:
    return click.option(
        "--broker-wait",
        type=Duration(),
        default=BROKER_WAIT,
        show_default=True,
        help="How long to wait for the broker to answer before giving up (exit 3).",
    )(function)


@click.command(epilog=RUN_EPILOG)
@config_option
@click.argument("pool")
@click.option("--dry-run", is_flag=True, help="Print the equivalent celery command and exit.")
@click.option("--loglevel", type=LOGLEVELS, default=None, help="Log level [default: WARNING].")
@click.option(
    "--process",
    type=click.IntRange(min=1),
    default=None,
    help="Run only this process (1..processes) of the pool [default: all of them].",
)
@seconds_option(
    "--grace", 20.0, "Seconds a warm shutdown of several processes may take before they are killed."
)
@broker_wait_option
@pass_options
def run(
    options: CliOptions,
    pool: str,
    dry_run: bool,
    loglevel: str | None,
    process: int | None,
    grace: float,
    broker_wait: float,
) -> None:
    """Start one pool's Celery worker processes with the options compiled from the config.

    A pool of several processes runs each as a child (`air run POOL --process I`), restarted
    if it exits. Refuses to start, printing every diagnostic, when the config has errors.
    """
    plan = plan_or_fail(options, warnings=True)
    worker = plan.workers[pick(pool, plan.workers, "pool")]
    if process is not None and process > worker.processes:
        raise UsageError(
            f"pool '{worker.pool}' runs {worker.processes} process(es); there is no process "
            f"{process}",
            hint=f"pick --process 1..{worker.processes}, or see `air pools`",
        )
    if dry_run:
        _print_command(options, worker.argv, worker.processes)
        return
    _wait_for_broker(plan, broker_wait)
    _export(options, worker.pool)
    if process is None and supervised(worker):
        extra = ["--loglevel", loglevel.upper()] if loglevel else []
        children = pool_children(worker, dict(os.environ), extra)
        echo_killed(supervise(children, grace, options.color), grace)
        return
    if process is not None:
        die_with_parent()
    from runtime.celeryapp.launch import run_worker

    code = run_worker(celery_app(plan), worker, loglevel, process or 1)
    raise click.exceptions.Exit(code)


BEAT_EPILOG = """\b
Examples:
  air beat                         send scheduled tasks on time
  air beat --dry-run               print the equivalent celery command instead
  air beat --broker-wait 0         exit 3 at once if the broker does not answer

\b
With the broker down it says at once that it is waiting, and after --broker-wait exits 3.
Once running, beat rides out broker outages. Any number of beats may run, on any hosts:
each fire is sent exactly once.
"""


@click.command(epilog=BEAT_EPILOG)
@config_option
@click.option("--dry-run", is_flag=True, help="Print the equivalent celery command and exit.")
@click.option("--loglevel", type=LOGLEVELS, default=None, help="Log level [default: INFO].")
@broker_wait_option
@pass_options
def beat(options: CliOptions, dry_run: bool, loglevel: str | None, broker_wait: float) -> None:
    """Run the beat scheduler: send each schedule's task at its fire times."""
    plan = plan_or_fail(options, warnings=True)
    if dry_run:
        _print_command(options, plan.beat_argv)
        return
    _wait_for_broker(plan, broker_wait)
    from runtime.celeryapp.launch import run_beat

    _export(options, "beat")
    raise click.exceptions.Exit(run_beat(celery_app(plan), plan.beat_options, loglevel))


def _wait_for_broker(plan: Plan, seconds: float) -> None:
    """Celery would retry for minutes (a worker) or die with a traceback (beat): say what is
    wrong at once, wait a bounded time, then exit 3."""
    reach.wait(
        str(plan.celery["broker_url"]),
        seconds,
        on_wait=lambda line: click.echo(f"air: {line}", err=True),
        options=plan.celery.get("broker_transport_options"),
    )


def _print_command(options: CliOptions, argv: tuple[str, ...], processes: int = 1) -> None:
    import shlex

    config_dir = shlex.quote(str(options.config_dir.resolve()))
    click.echo(redact(f"AIR_CONFIG_DIR={config_dir} {shlex.join(argv)}"))
    if processes > 1:
        click.echo(f"# run {processes} times, %i = 1..{processes} (`air run` does)", err=True)


def _export(options: CliOptions, pool: str) -> None:
    """Pool processes (and any `celery -A runtime.celeryapp.app` they start) see the same config."""
    os.environ["AIR_CONFIG_DIR"] = str(options.config_dir.resolve())
    os.environ["AIR_POOL"] = pool
