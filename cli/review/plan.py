"""`air plan`: what a config change does to the compiled topology, and what in it is risky."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli import exit_codes
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.compiler.compile import compile_plan
from runtime.config import defaults
from runtime.config.errors import BrokerUnreachable, ConfigError, UsageError
from runtime.config.reporters import render_text
from runtime.config.validate import KINDS, validate_contents
from runtime.process.gitsource import Repository
from runtime.review.planformat import FORMATS
from runtime.review.planning import PlanDiff, compare
from runtime.review.revision import Revision

EPILOG = """\b
Examples:
  air plan                              merge base with the default branch -> work tree
  air plan --base main --head HEAD      two commits, no checkout
  air plan --format markdown            a pull-request comment
  air plan --live                       also count messages a removed queue strands
\b
Exit status: 0 no changes, 1 config errors in either revision, 2 usage error,
3 broker unreachable (--live), 4 changes, 5 changes with a risk flag.
"""


@dataclass(frozen=True, slots=True)
class PlanOptions:
    cli: CliOptions
    base: str | None
    head: str | None
    format: str
    live: bool
    broker: str | None
    cwd: Path


@click.command(epilog=EPILOG)
@config_option
@click.option(
    "--base",
    metavar="REF",
    help="Base revision [default: merge base of HEAD with "
    "the default branch (origin/HEAD, else main or master)].",
)
@click.option("--head", metavar="REF", help="Head revision [default: the work tree].")
@format_option(
    sorted(FORMATS), "text", "Output format (markdown is meant for a pull-request comment)."
)
@click.option(
    "--live",
    is_flag=True,
    help="Count the messages waiting in removed or renamed queues, in the base revision's broker.",
)
@click.option("--broker", metavar="URL", help="With --live: count in this broker instead.")
@pass_options
def plan(
    options: CliOptions,
    base: str | None,
    head: str | None,
    output_format: str,
    live: bool,
    broker: str | None,
) -> None:
    """Diff the compiled topology of two revisions: queues, pools, tasks, schedules, risks."""
    if broker and not live:
        raise click.UsageError("--broker only applies with --live")
    opts = PlanOptions(options, base, head, output_format, live, broker, Path.cwd())
    code = execute(opts)
    if code:
        raise click.exceptions.Exit(code)


def execute(opts: PlanOptions) -> int:
    # Two validations of a large config allocate hundreds of thousands of objects and no
    # cycles worth collecting; the collector's passes over them were a fifth of the run
    # (bench/plan.py). The process ends right after.
    gc.disable()
    try:
        return _execute(opts)
    finally:
        gc.enable()


def _execute(opts: PlanOptions) -> int:
    config_dir = opts.cwd / opts.cli.config_dir
    # The repository holding the config (the directory may be gone from the work tree).
    repo = Repository.find(next(p for p in (config_dir, *config_dir.parents) if p.is_dir()))
    folder = repo.relative(config_dir)
    paths = {
        kind: filename if folder == "." else f"{folder}/{filename}"
        for kind, filename in KINDS.items()
    }
    files = list(paths.values())
    if opts.base is None:
        base_commit, branch = repo.default_base()
        base_label = f"{branch} (merge base)"
    else:
        base_commit, base_label = repo.commit(opts.base), opts.base
    base = _revision(opts, base_label, base_commit, repo.read(base_commit, files), paths)
    if opts.head is None:
        head_commit, head_label, contents = None, "work tree", repo.read_worktree(files)
    else:
        head_commit, head_label = repo.commit(opts.head), opts.head
        contents = repo.read(head_commit, files)
    head = _revision(opts, head_label, head_commit, contents, paths)
    result = compare(base, head, datetime.now(UTC))
    if opts.live:
        settings = base.plan.celery
        if opts.broker:  # the same transport options: a Sentinel URL needs its master name
            settings = {**settings, "broker_url": opts.broker}
        result = _count_waiting(result, settings)
    click.echo(FORMATS[opts.format](result, color=opts.cli.color), nl=False, color=opts.cli.color)
    if not result.items:
        return exit_codes.OK
    return exit_codes.RISKY_CHANGES if result.risks else exit_codes.CHANGES


def _revision(
    opts: PlanOptions,
    label: str,
    commit: str | None,
    contents: dict[str, bytes | None],
    paths: dict[str, str],
) -> Revision:
    validation = validate_contents({kind: (path, contents[path]) for kind, path in paths.items()})
    if validation.unreadable:
        missing = ", ".join(d.path for d in validation.docs.values() if not d.readable)
        raise UsageError(
            f"{label} has no {missing}",
            hint=f"point --config at the directory holding {defaults.QUEUES_FILE} and "
            f"{defaults.SCHEDULES_FILE} in both revisions",
        )
    if not validation.report.ok:
        click.echo(f"{label}:", err=True)
        click.echo(
            render_text(validation.report, color=opts.cli.color),
            err=True,
            nl=False,
            color=opts.cli.color,
        )
        errors = validation.report.errors
        raise ConfigError(
            f"the config in {label} has {errors} error{'s' if errors != 1 else ''}",
            hint="fix it (air validate checks the work tree) and plan again",
        )
    return Revision.of(label, commit, validation, compile_plan(validation.config))


def _count_waiting(result: PlanDiff, settings: Mapping[str, Any]) -> PlanDiff:
    import redis

    from cli.common import ping_broker, redact
    from runtime.broker.clients import broker_client
    from runtime.broker.queues import read_queues

    url = str(settings["broker_url"])
    ping_broker(settings)
    client = broker_client(settings, timeout=5, connect_timeout=5)
    try:
        depths = read_queues(client, result.stranded_queues())
        return result.with_waiting({queue.name: queue.depth for queue in depths})
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise BrokerUnreachable(f"the broker at {redact(url)} stopped answering: {exc}") from None
    finally:
        client.close()
