"""`air run POOL` and `air beat`: exec Celery with the compiled arguments."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

import click

from cli.common import interpreter_argv, pick, plan_or_fail
from cli.options import CliOptions, config_option, pass_options

RUN_EPILOG = """\b
Examples:
  air run default                  start the 'default' pool's worker
  air run default --dry-run        print the command instead
  air run default -- -l DEBUG      pass extra arguments to `celery worker`
"""


@click.command(epilog=RUN_EPILOG, context_settings={"ignore_unknown_options": True})
@config_option
@click.argument("pool")
@click.option("--dry-run", is_flag=True, help="Print the worker command and exit.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@pass_options
def run(options: CliOptions, pool: str, dry_run: bool, celery_args: tuple[str, ...]) -> None:
    """Start one pool's Celery worker with the arguments compiled from the config.

    Refuses to start, printing every diagnostic, when the config has errors.
    """
    plan = plan_or_fail(options, warnings=True)
    worker = plan.workers[pick(pool, plan.workers, "pool")]
    _exec(options, [*worker.argv, *celery_args], dry_run, pool=worker.pool)


BEAT_EPILOG = """\b
Examples:
  air beat                         send scheduled tasks on time
  air beat --dry-run               print the command instead
"""


@click.command(epilog=BEAT_EPILOG, context_settings={"ignore_unknown_options": True})
@config_option
@click.option("--dry-run", is_flag=True, help="Print the beat command and exit.")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@pass_options
def beat(options: CliOptions, dry_run: bool, celery_args: tuple[str, ...]) -> None:
    """Run the beat scheduler: send each schedule's task at its fire times."""
    plan = plan_or_fail(options, warnings=True)
    _exec(options, [*plan.beat_argv, *celery_args], dry_run, pool="beat")


def _exec(options: CliOptions, argv: Sequence[str], dry_run: bool, pool: str) -> None:
    config_dir = str(options.config_dir.resolve())
    if dry_run:
        click.echo(f"AIR_CONFIG_DIR={shlex.quote(config_dir)} {shlex.join(argv)}")
        return
    env = dict(os.environ, AIR_CONFIG_DIR=config_dir, AIR_POOL=pool)
    command = interpreter_argv(list(argv))
    os.execve(command[0], command, env)
