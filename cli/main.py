"""The root `air` group and the one place errors become messages and exit codes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from cli import exit_codes
from cli.options import CliOptions, resolve_color
from runtime.config import defaults
from runtime.config.errors import AirError
from runtime.config.redact import redact

EPILOG = """\b
Examples:
  air validate                     lint ./config (exit 1 on errors)
  air --config deploy/config show  print the compiled plan of another config
  air up                           run every pool and beat on this machine
"""


# Command modules load on first use: `air validate` never pays for Celery, Redis or the others.
COMMANDS = {
    "validate": "cli.review.validate:validate",
    "show": "cli.review.inspect:show",
    "pools": "cli.review.inspect:pools",
    "schedule": "cli.review.inspect:schedule",
    "run": "cli.operate.run:run",
    "beat": "cli.operate.run:beat",
    "send": "cli.operate.send:send",
    "up": "cli.operate.up:up",
    "dead": "cli.operate.dead:dead",
    "db": "cli.operate.db:db",
    "render": "cli.review.render:render",
    "graph": "cli.review.graph:graph",
    "health": "cli.observe.health:health",
    "status": "cli.observe.status:status",
    "seed-demo": "cli.operate.demo:seed_demo",
    "plan": "cli.review.plan:plan",
    "explain": "cli.review.explain:explain",
    "exporter": "cli.observe.exporter:exporter",
    "monitor": "cli.observe.monitor:monitor",
    "flower": "cli.observe.flower:flower",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *super().list_commands(ctx)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(
    cls=LazyGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="AIR_CONFIG_DIR",
    default=defaults.CONFIG_DIR,
    show_default=True,
    show_envvar=True,
    help="Directory with queues.yaml and schedules.yaml.",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour output (auto: on a terminal, unless NO_COLOR).",
)
@click.option("-v", "--verbose", count=True, help="More output; repeat for more.")
@click.option("-q", "--quiet", count=True, help="Less output; repeat for less.")
@click.option("--traceback", is_flag=True, help="Show Python tracebacks (for reporting bugs).")
@click.version_option(package_name="air", message="air %(version)s")
@click.pass_context
def cli(
    ctx: click.Context, config_dir: Path, color: str, verbose: int, quiet: int, traceback: bool
) -> None:
    """air: a declarative job platform on Celery and Redis.

    Queues, pools, task policies and schedules live in YAML; air validates them, compiles them
    into Celery settings, and runs the workers and beat from that plan.
    """
    ctx.obj = CliOptions(
        config_dir=config_dir,
        color=resolve_color(color),
        verbosity=max(0, 1 + verbose - quiet),
        traceback=traceback,
    )


def main(argv: list[str] | None = None) -> int:
    """Console entry point: never shows a traceback unless --traceback was given."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = cli.main(args=args, prog_name="air", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return exit_codes.INTERRUPTED
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except AirError as exc:
        click.echo(f"error: {redact(exc.message)}", err=True)
        if exc.hint:
            click.echo(f"  hint: {exc.hint}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: say so plainly, keep the traceback for --traceback
        if "--traceback" in args:
            raise
        click.echo(f"error: internal error: {type(exc).__name__}: {redact(str(exc))}", err=True)
        click.echo("  hint: rerun with --traceback and report it", err=True)
        return exit_codes.INTERNAL_ERROR
    # Without standalone mode click returns a command's Exit code instead of raising it.
    return result if isinstance(result, int) else exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
