"""`air validate`: lint the config for review, pre-commit and CI."""

from __future__ import annotations

from dataclasses import dataclass

import click

from cli import exit_codes
from cli.options import CliOptions, config_option, format_option, pass_options
from runtime.config.reporters import REPORTERS
from runtime.config.validate import validate as run_validation

EPILOG = """\b
Examples:
  air validate                          check ./config
  air validate --config deploy/config   check another directory
  air validate --format github          annotations for a GitHub Actions job
  air validate --format json | jq .     machine-readable report
  air validate --strict                 also check the task code matches the config
\b
Exit status: 0 no errors (warnings allowed), 1 errors in the config,
2 usage error or a file that cannot be read.
"""


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    cli: CliOptions
    format: str
    strict: bool = False


@click.command(epilog=EPILOG)
@config_option
@format_option(sorted(REPORTERS), "text", "Report format.")
@click.option(
    "--strict",
    is_flag=True,
    help="Also import the task modules: every declared task must be registered and the "
    "reverse, and retry error classes must import (slower: loads Celery and your code).",
)
@pass_options
def validate(options: CliOptions, output_format: str, strict: bool) -> None:
    """Check queues.yaml and schedules.yaml: syntax, schema, references, limits, schedules."""
    code = execute(ValidateOptions(cli=options, format=output_format, strict=strict))
    if code:
        raise click.exceptions.Exit(code)


def execute(opts: ValidateOptions) -> int:
    result = run_validation(opts.cli.config_dir)
    if opts.strict and result.report.ok:
        from runtime.celeryapp import strict
        from runtime.compiler.compile import compile_plan

        result.report.extend(strict.diagnostics(result, compile_plan(result.config)))
    if opts.format != "text" or opts.cli.verbosity > 0 or not result.report.ok:
        text = REPORTERS[opts.format](result.report, color=opts.cli.color)
        click.echo(text, nl=False, color=opts.cli.color)  # click strips ANSI on a pipe otherwise
    if result.unreadable:
        return exit_codes.USAGE_ERROR
    return exit_codes.OK if result.report.ok else exit_codes.CONFIG_ERROR
