"""Flower, the Celery web UI, on the app air compiles: the command line and environment that
start it, with basic auth taken from AIR_FLOWER_BASIC_AUTH (never from YAML or argv)."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping

from runtime.compiler.workers import APP
from runtime.config.errors import UsageError

AUTH_ENV = "AIR_FLOWER_BASIC_AUTH"  # user:password[,user:password...]
DEFAULT_PORT = 5555


def flower_argv(address: str, port: int) -> list[str]:
    # --conf=/dev/null: Flower would otherwise execute a flowerconfig.py found in the working
    # directory; air's config is its YAML.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        APP,
        "flower",
        f"--address={address}",
        f"--port={port}",
        "--conf=/dev/null",
    ]


def flower_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for Flower: air's basic auth handed over as Flower's own variable (the
    environment, not argv, so `ps` never shows the password), and no other FLOWER_ setting
    from the caller, so what runs is what air says."""
    env = {k: v for k, v in environ.items() if not k.startswith("FLOWER_")}
    auth = environ.get(AUTH_ENV, "").strip()
    if auth:
        for pair in auth.split(","):
            user, colon, password = pair.partition(":")
            if not (user and colon and password):
                raise UsageError(
                    f"{AUTH_ENV} must be user:password (comma-separated for several)",
                    hint=f"export {AUTH_ENV}=admin:a-long-secret",
                )
        env["FLOWER_BASIC_AUTH"] = auth
    return env


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
