"""Options every command shares, kept as one frozen object on the click context."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from runtime.config import defaults

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CliOptions:
    config_dir: Path
    color: bool
    verbosity: int  # 1 normal; 0 quiet; 2+ verbose
    traceback: bool = False


def resolve_color(choice: str, stream: Any = None) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


pass_options = click.make_pass_decorator(CliOptions)


def _override_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """`air validate --config DIR` works as well as `air --config DIR validate`."""
    if value is not None and isinstance(ctx.obj, CliOptions):
        ctx.obj = replace(ctx.obj, config_dir=value)


def config_option(function: F) -> F:
    return click.option(
        "--config",
        "config_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        expose_value=False,
        is_eager=False,
        callback=_override_config,
        help="Config directory with queues.yaml and schedules.yaml "
        f"[env AIR_CONFIG_DIR; default ./{defaults.CONFIG_DIR}].",
    )(function)


def format_option(
    choices: Iterable[str], default: str, help: str = "Output format."
) -> Callable[[F], F]:
    """`--format` (into `output_format`), the same on every command that has one."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=help,
    )


def seconds_option(name: str, default: float, help: str) -> Callable[[F], F]:
    """An option of seconds (zero or more) whose default the help shows: --grace, --timeout."""
    return click.option(
        name, type=click.FloatRange(min=0), default=default, show_default=True, help=help
    )


def reply_timeout_option(help: str) -> Callable[[F], F]:
    """`--timeout`: how long a command waits for workers' replies to a broadcast."""
    return click.option(
        "--timeout",
        type=click.FloatRange(0.1, 30),
        default=1.0,
        show_default=True,
        help=help,
    )
