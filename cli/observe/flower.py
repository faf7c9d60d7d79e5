"""`air flower`: the Flower web UI on the compiled app, on loopback unless told otherwise."""

from __future__ import annotations

import os

import click

from cli.common import ping_broker, plan_or_fail
from cli.options import CliOptions, config_option, pass_options
from runtime.process.flower import AUTH_ENV, DEFAULT_PORT, flower_argv, flower_env, is_loopback

EPILOG = f"""\b
Examples:
  air flower                                  http://127.0.0.1:{DEFAULT_PORT}/
  {AUTH_ENV}=admin:secret air flower --address 0.0.0.0
"""


@click.command(epilog=EPILOG)
@config_option
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port.",
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback wants basic auth.",
)
@pass_options
def flower(options: CliOptions, port: int, address: str) -> None:
    """Run Flower on the compiled app (basic auth from AIR_FLOWER_BASIC_AUTH)."""
    plan = plan_or_fail(options, warnings=True)
    ping_broker(plan.celery)
    env = flower_env(os.environ)
    env["AIR_CONFIG_DIR"] = str(options.config_dir.resolve())
    if not is_loopback(address) and "FLOWER_BASIC_AUTH" not in env:
        click.echo(
            f"warning: Flower on {address} without {AUTH_ENV}: anyone who reaches port {port} "
            "can see task arguments and revoke tasks",
            err=True,
        )
    argv = flower_argv(address, port)
    os.execve(argv[0], argv, env)  # Flower runs as this process: signals reach it directly
