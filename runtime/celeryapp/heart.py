"""Worker heartbeats that also say how many pool processes the worker runs (`air_processes`),
so monitors count a pool's capacity without a broadcast to every worker."""

from __future__ import annotations

from typing import Any

from celery.signals import heartbeat_sent
from celery.utils.sysinfo import load_average
from celery.worker import heartbeat
from celery.worker.consumer.heart import Heart
from celery.worker.state import SOFTWARE_INFO, active_requests, all_total_count

STEP = "celery.worker.consumer.heart:Heart"  # the consumer step this one replaces


class AirHeartbeat(heartbeat.Heart):  # type: ignore[misc]
    def __init__(self, timer: Any, eventer: Any, interval: float | None, pool: Any) -> None:
        super().__init__(timer, eventer, interval)
        self.pool = pool

    def _send(self, event: str, retry: bool = True) -> Any:
        # Celery's own _send with one field more; it offers no hook to add fields.
        if heartbeat_sent.receivers:
            heartbeat_sent.send(sender=self)
        return self.eventer.send(
            event,
            freq=self.interval,
            active=len(active_requests),
            processed=all_total_count[0],
            loadavg=load_average(),
            retry=retry,
            air_processes=processes(self.pool),
            **SOFTWARE_INFO,
        )


class AirHeart(Heart):  # type: ignore[misc]
    def start(self, c: Any) -> None:
        c.heart = AirHeartbeat(c.timer, c.event_dispatcher, self.heartbeat_interval, c.pool)
        c.heart.start()


def processes(pool: Any) -> int | None:
    """The pool's current process (or thread) count; autoscaling changes it."""
    try:
        return int(pool.num_processes)
    except (AttributeError, TypeError, ValueError):
        return None
