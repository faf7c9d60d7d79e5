"""`air run POOL` and `air beat`: run Celery's worker or beat with the compiled options."""

from __future__ import annotations

import os

import click

from cli.common import celery_app, pick, plan_or_fail, wait_for_broker
from cli.options import CliOptions, config_option, pass_options
from runtime.config.redact import redact

RUN_EPILOG = """\b
Examples:
  air run default                  start the 'default' pool's worker
  air run default --dry-run        print the equivalent celery command instead
  air run default --loglevel DEBUG
"""

LOGLEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)


@click.command(epilog=RUN_EPILOG)
@config_option
@click.argument("pool")
@click.option("--dry-run", is_flag=True, help="Print the equivalent celery command and exit.")
@click.option("--loglevel", type=LOGLEVELS, default=None, help="Log level [default: WARNING].")
@pass_options
def run(options: CliOptions, pool: str, dry_run: bool, loglevel: str | None) -> None:
    """Start one pool's Celery worker with the options compiled from the config.

    Refuses to start, printing every diagnostic, when the config has errors.
    """
    plan = plan_or_fail(options, warnings=True)
    worker = plan.workers[pick(pool, plan.workers, "pool")]
    if dry_run:
        _print_command(options, worker.argv)
        return
    from runtime.celeryapp.launch import run_worker

    _export(options, worker.pool)
    raise click.exceptions.Exit(run_worker(celery_app(plan), worker, loglevel))


BEAT_START_WAIT = 5.0  # seconds `air beat` waits for the broker at start before exiting 3

BEAT_EPILOG = """\b
Examples:
  air beat                         send scheduled tasks on time
  air beat --dry-run               print the equivalent celery command instead

Any number of beats may run, on any hosts: each fire is sent exactly once.
"""


@click.command(epilog=BEAT_EPILOG)
@config_option
@click.option("--dry-run", is_flag=True, help="Print the equivalent celery command and exit.")
@click.option("--loglevel", type=LOGLEVELS, default=None, help="Log level [default: INFO].")
@pass_options
def beat(options: CliOptions, dry_run: bool, loglevel: str | None) -> None:
    """Run the beat scheduler: send each schedule's task at its fire times."""
    plan = plan_or_fail(options, warnings=True)
    if dry_run:
        _print_command(options, plan.beat_argv)
        return
    from runtime.celeryapp.launch import run_beat

    # Unreachable at start is a setup problem (exit 3); once running, beat rides out outages.
    wait_for_broker(plan.celery["broker_url"], timeout=BEAT_START_WAIT)
    _export(options, "beat")
    raise click.exceptions.Exit(run_beat(celery_app(plan), plan.beat_options, loglevel))


def _print_command(options: CliOptions, argv: tuple[str, ...]) -> None:
    import shlex

    config_dir = shlex.quote(str(options.config_dir.resolve()))
    click.echo(redact(f"AIR_CONFIG_DIR={config_dir} {shlex.join(argv)}"))


def _export(options: CliOptions, pool: str) -> None:
    """Pool processes (and any `celery -A runtime.celeryapp.app` they start) see the same config."""
    os.environ["AIR_CONFIG_DIR"] = str(options.config_dir.resolve())
    os.environ["AIR_POOL"] = pool
