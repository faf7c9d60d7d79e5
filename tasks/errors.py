"""Exceptions tasks raise to tell the retry policy what kind of failure happened."""


class TransientError(Exception):
    """Raised when a failure may go away on its own (a remote 5xx, a lock, a timeout): retry it."""


class PermanentError(Exception):
    """Raised when retrying cannot help (bad input, a revoked grant): fail now, dead-letter it."""
