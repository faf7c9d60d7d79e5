"""The air error hierarchy: each class carries the exit code the CLI ends with."""

from __future__ import annotations


class AirError(Exception):
    """Raised when air cannot continue; the CLI prints it as `error: ...` without a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(AirError):
    """Raised when the config has errors; the diagnostics were already printed."""

    exit_code = 1


class UsageError(AirError):
    """Raised when the command line or a file it names cannot be used."""

    exit_code = 2


class BrokerUnreachable(AirError):
    """Raised when the Redis broker does not answer."""

    exit_code = 3


class DatabaseUnreachable(AirError):
    """Raised when the task store's database (AIR_DATABASE_URL) does not answer."""

    exit_code = 6
