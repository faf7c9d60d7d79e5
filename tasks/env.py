"""Reading task settings from environment variables, with errors that name the variable."""

from __future__ import annotations

from collections.abc import Mapping


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """`env[name]` as a positive integer; `default` when unset or blank."""
    raw = env.get(name, "").strip()
    value = int(raw) if raw else default
    if value < 1:
        raise ValueError(f"{name}={raw!r}: must be a positive integer")
    return value
