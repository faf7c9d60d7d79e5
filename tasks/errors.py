"""Exceptions telling the retry policy what kind of failure happened, and require_integer()."""

from __future__ import annotations

from typing import Any


class TransientError(Exception):
    """Raised when a failure may go away on its own (a remote 5xx, a lock, a timeout): retry it."""


class PermanentError(Exception):
    """Raised when retrying cannot help (bad input, a revoked grant): fail now, dead-letter it."""


def require_integer(name: str, value: Any) -> int:
    """`value` (the task argument `name`) if it is an integer; PermanentError for anything
    else, a bool included: no retry can make a malformed call valid."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PermanentError(f"{name} must be an integer, not {value!r}")
    return value
