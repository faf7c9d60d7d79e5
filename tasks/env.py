"""Reading task settings from environment variables, with errors that name the variable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

N = TypeVar("N", int, float)


def number(
    env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], *, minimum: N,
    problem: str,
) -> N:
    """`env[name]` read by `parse`, `default` when unset or blank; below `minimum` a ValueError
    naming the variable and its value, then `problem` (what a valid value is)."""
    raw = env.get(name, "").strip()
    value = parse(raw) if raw else default
    if value < minimum:
        raise ValueError(f"{name}={raw!r}: {problem}")
    return value


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """`env[name]` as a positive integer; `default` when unset or blank."""
    return number(env, name, default, int, minimum=1, problem="must be a positive integer")
