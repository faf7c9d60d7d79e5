"""Delivery failures and the retry budget: what a channel reports, and when to stop trying."""

from __future__ import annotations

from typing import Any


class DeliveryError(Exception):
    """Raised when a channel did not deliver; `transient` says whether a retry may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def last_attempt(task: Any) -> bool:
    """True when the retry policy will not run `task` again after this attempt, so a transient
    failure now is recorded as final. A direct call (no policy, no retries) is its own last."""
    policy = getattr(task, "policy", None)
    if policy is None or task.request.called_directly:
        return True
    return bool(task.request.retries >= policy.retry.max)
