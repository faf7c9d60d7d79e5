"""Helpers the commands share: load the plan (printing diagnostics), reach the broker."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import click

from cli.options import CliOptions
from runtime.broker import reach
from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from runtime.config.diagnostics import Report, Severity
from runtime.config.errors import UsageError
from runtime.config.redact import redact as redact  # shared by the commands
from runtime.config.reporters import render_text
from runtime.config.validate import InvalidConfig, Validation
from runtime.process import jsonlines

if TYPE_CHECKING:
    from celery import Celery


def plan_or_fail(options: CliOptions, *, warnings: bool = False, as_json: bool = False) -> Plan:
    """The compiled plan; on config errors print every diagnostic to stderr and stop.
    `as_json`: warnings as JSON log lines, one each (`air up` under a log collector)."""
    return loaded_or_fail(options, warnings=warnings, as_json=as_json)[0]


def loaded_or_fail(
    options: CliOptions, *, warnings: bool = False, as_json: bool = False
) -> tuple[Plan, Validation]:
    """The compiled plan and the validation it came from (positions, model); on config errors
    print every diagnostic to stderr and stop."""
    try:
        plan, result = load_plan(options.config_dir)
    except InvalidConfig as exc:
        click.echo(
            render_text(exc.validation.report, color=options.color),
            err=True,
            nl=False,
            color=options.color,
        )
        raise
    if warnings and result.report.warnings and options.verbosity > 0:
        only = Report([d for d in result.report if d.severity is Severity.WARNING])
        if as_json:
            for item in only:
                details: dict[str, Any] = item.to_dict()
                click.echo(jsonlines.note("config warning", level="warning", **details), err=True)
            return plan, result
        click.echo(render_text(only, color=options.color), err=True, nl=False, color=options.color)
    return plan, result


def pick(name: str, choices: Iterable[str], noun: str) -> str:
    """`name` if it is one of `choices`, else a usage error with a did-you-mean hint."""
    names = sorted(choices)
    if name in names:
        return name
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = (f"did you mean '{close[0]}'? " if close else "") + f"{noun}s: {', '.join(names)}"
    raise UsageError(f"unknown {noun} '{name}'", hint=hint)


def ping_broker(settings: Mapping[str, Any], timeout: float = 3.0) -> None:
    """Fail fast, with exit code 3, when the broker of Celery `settings` (a Plan's `celery`)
    does not answer (or something else does)."""
    options = settings.get("broker_transport_options")
    reach.ping(str(settings["broker_url"]), timeout, options=options)


def ping_backend(settings: Mapping[str, Any], timeout: float = 3.0) -> None:
    """ping_broker for the result backend."""
    options = settings.get("result_backend_transport_options")
    reach.ping(str(settings["result_backend"]), timeout, what="result backend", options=options)


def celery_app(plan: Plan) -> Celery:
    from runtime.celeryapp.app import create_app

    return create_app(plan)


def echo_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )


def as_json_arg(value: str | None, name: str, kind: type) -> Any:
    import json

    if value is None:
        return kind()
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{name} is not valid JSON: {exc}",
            hint=f"example: {name} '[1, \"a\"]'"
            if kind is list
            else f"example: {name} '{{\"user_id\": 1}}'",
        ) from None
    if not isinstance(parsed, kind):
        raise UsageError(f"{name} must be a JSON {'list' if kind is list else 'object'}")
    return parsed
