"""`air graph`: the topology, schedules -> tasks -> queues -> pools, as Mermaid or DOT text."""

from __future__ import annotations

import click

from cli.common import plan_or_fail
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.review.graph import FORMATS

EPILOG = """\b
Examples:
  air graph                                  Mermaid, for Markdown (docs/topology.md)
  air graph --format dot | dot -Tsvg > t.svg Graphviz
"""


@click.command(epilog=EPILOG)
@config_option
@format_option(list(FORMATS), "mermaid", "Graph language.")
@pass_options
def graph(options: CliOptions, output_format: str) -> None:
    """Draw the topology: schedules, tasks, queues (priority) and pools (concurrency)."""
    click.echo(FORMATS[output_format](plan_or_fail(options)), nl=False)
