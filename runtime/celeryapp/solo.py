"""What Celery's solo pool lacks and air's one-slot processes need: time limits and recycling.

The solo pool runs each task in the worker process's main thread, so a timer signal reaches it:
SIGALRM at the soft limit raises SoftTimeLimitExceeded inside the task (as prefork's SIGUSR1
does), and at the hard limit raises TimeLimitExceeded, which ends the task as a failure
(acknowledged, dead-lettered) while the process carries on. Unlike prefork's hard limit this
cannot stop code that never returns to Python (a blocking C call that ignores signals) or a task
that catches TimeLimitExceeded itself.

`max_tasks_per_child` and `max_memory_per_child` replace the process itself: after the task
that reaches the limit, the worker shuts down warm (acknowledging what it ran) and whoever
started it (`air run`, `air up`) starts a fresh one.
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.worker import state

_active = False
_recycle: dict[str, int | None] = {"tasks": None, "memory_kib": None}
_done = [0]


def install(max_tasks: int | None, max_memory_kib: int | None) -> None:
    """Called in a solo worker process before it starts."""
    global _active
    _active = True
    _recycle.update(tasks=max_tasks, memory_kib=max_memory_kib)
    if max_tasks or max_memory_kib:
        signals.task_postrun.connect(_count, weak=False)


@contextmanager
def time_limits(soft: float | None, hard: float | None) -> Iterator[None]:
    """Enforce the limits around one task run, when running in a solo worker's main thread."""
    in_main = threading.current_thread() is threading.main_thread()
    if not _active or not (soft or hard) or not in_main:
        yield
        return
    stages: list[tuple[float, type[Exception]]] = []
    if soft and (not hard or soft < hard):
        stages.append((soft, SoftTimeLimitExceeded))
    if hard:
        stages.append((hard - (stages[0][0] if stages else 0.0), TimeLimitExceeded))

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        _, error = stages.pop(0)
        if stages:
            signal.setitimer(signal.ITIMER_REAL, stages[0][0])
        raise error(hard if error is TimeLimitExceeded else soft)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, stages[0][0])
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _count(**_: Any) -> None:
    _done[0] += 1
    tasks, memory = _recycle["tasks"], _recycle["memory_kib"]
    # ru_maxrss is in KiB on Linux: the peak, so a process that once grew past the limit goes.
    over_memory = memory is not None and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > memory
    if (tasks is not None and _done[0] >= tasks) or over_memory:
        state.should_stop = 0  # EX_OK: a warm shutdown after this task, then a fresh process
