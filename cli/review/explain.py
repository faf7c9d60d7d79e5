"""`air explain NAME`: where every effective value of an object came from, and what it became."""

from __future__ import annotations

from dataclasses import dataclass

import click

from cli.common import loaded_or_fail
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.review.explain import FORMATS, find
from runtime.review.topology import Topology

EPILOG = """\b
Examples:
  air explain auth.token_refresh        a task: route, limits, retry policy
  air explain high_priority             a queue (and a pool of the same name, if any)
  air explain pool:default              only the pool called default
  air explain broker --format json      machine-readable
\b
FROM is file:line:col where the value is written, defaults.KEY (line) when inherited from
`defaults:`, "air default" for a built-in default, or the setting it follows.
Exit status: 0 shown, 1 config errors, 2 unknown name (with a did-you-mean hint).
"""


@dataclass(frozen=True, slots=True)
class ExplainOptions:
    cli: CliOptions
    name: str
    format: str


@click.command(epilog=EPILOG)
@config_option
@click.argument("name")
@format_option(sorted(FORMATS), "text")
@pass_options
def explain(options: CliOptions, name: str, output_format: str) -> None:
    """Every effective value of a TASK, QUEUE, POOL or SCHEDULE: its source and Celery form."""
    execute(ExplainOptions(options, name, output_format))


def execute(opts: ExplainOptions) -> None:
    plan, validation = loaded_or_fail(opts.cli)
    found = find(Topology(validation, plan), opts.name)
    click.echo(FORMATS[opts.format](found), nl=False)
