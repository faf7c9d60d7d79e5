"""AirTask: the base class of every task; applies the retry policy compiled from the YAML."""

from __future__ import annotations

import builtins
import importlib
from typing import Any

from celery import Task
from celery.app.task import get_actual_ignore_result
from celery.exceptions import SoftTimeLimitExceeded

from runtime.celeryapp import guards, solo
from runtime.compiler.plan import RetryPlan, TaskPlan
from runtime.config import backoff


class PolicyError(RuntimeError):
    """Raised when a task's policy names an exception class that cannot be imported."""


def resolve_exception(name: str) -> type[BaseException]:
    """'ConnectionError' -> builtins.ConnectionError; 'pkg.mod.Error' -> imported class."""
    if "." not in name:
        found = getattr(builtins, name, None)
    else:
        module, _, attr = name.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), attr, None)
        except (ImportError, ValueError) as exc:  # ValueError: '.Name' (empty module name)
            raise PolicyError(f"retry.errors names '{name}': {exc}") from exc
    if not (isinstance(found, type) and issubclass(found, BaseException)):
        raise PolicyError(f"retry.errors names '{name}', which is not an exception class")
    return found


def retry_delay(retry: RetryPlan, retries: int) -> float:
    return backoff.delay(retry.backoff, retry.initial, retry.max_delay, retry.jitter, retries)


class AirTask(Task):  # type: ignore[misc]
    """Retries exactly the exceptions the policy lists, with the policy's delays.

    Soft time limits are not retried unless `SoftTimeLimitExceeded` is listed: a task that ran out
    of time once will usually run out again.
    """

    # Task events that name the queue and the send-to-start wait (runtime/celeryapp/request.py).
    Request = "runtime.celeryapp.request:AirRequest"
    _retry_on: tuple[type[BaseException], ...] | None = None

    @property
    def policy(self) -> TaskPlan | None:
        plan = getattr(self.app, "air_plan", None)
        return plan.tasks.get(self.name) if plan is not None else None

    def retryable(self) -> tuple[type[BaseException], ...]:
        if self._retry_on is None:
            policy = self.policy
            names = policy.retry.errors if policy and policy.retry.max > 0 else ()
            self._retry_on = tuple(resolve_exception(n) for n in names)
        return self._retry_on

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        policy = self.policy
        request = self.request
        # An eager apply() runs in this process, not from the broker: like Celery's own rate
        # limits, the broker-side guards do not apply to it.
        if policy is not None and not request.called_directly and not request.is_eager:
            guards.before_start(self, policy)
        try:
            with solo.time_limits(*self._limits()):
                return super().__call__(*args, **kwargs)
        except Exception as exc:
            policy = self.policy
            if (
                policy is None
                or self.request.called_directly
                or not isinstance(exc, self.retryable())
                or (
                    isinstance(exc, SoftTimeLimitExceeded)
                    and "SoftTimeLimitExceeded" not in policy.retry.errors
                )
            ):
                raise
            delay = retry_delay(policy.retry, self.request.retries)
            raise self.retry(exc=exc, countdown=delay, max_retries=policy.retry.max) from exc

    def _limits(self) -> tuple[float | None, float | None]:
        """(soft, hard) seconds: those sent with the task, else the task's own."""
        hard, soft = getattr(self.request, "timelimit", None) or (None, None)
        return soft or self.soft_time_limit, hard or self.time_limit

    def progress(self, done: int, total: int, **info: Any) -> None:
        """Report progress as the PROGRESS state, which `air send --wait` shows as a bar; only
        when the sender asked for the result, as `air send --wait` does."""
        asked = not get_actual_ignore_result(self, self.request)
        if self.request.id and not self.request.called_directly and asked:
            self.update_state(state="PROGRESS", meta={"done": done, "total": total, **info})
