"""Beat for air: fire times from runtime.config.cron (the ones `air schedule` prints),
per-entry time zones, `overlap: skip`, last-run times kept in Redis as JSON, and one beat per
broker.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from celery import states
from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import BaseSchedule

from runtime.broker.redis_values import text
from runtime.compiler.plan import Plan
from runtime.compiler.plan import ScheduleEntry as PlannedEntry
from runtime.config import cron

logger = logging.getLogger("air.beat")

LAST_RUN = "air:beat:last_run"  # hash: schedule name -> ISO time of the last send
RUNNING = "air:beat:running:{}"  # task id of a schedule's run that may still be going
LOCK = "air:beat:lock"  # "host:pid" of the beat that owns this broker
LOCK_TTL = 90  # seconds; renewed on every tick, so a dead beat frees the broker quickly


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CronSchedule(BaseSchedule):  # type: ignore[misc]
    """A five-field cron expression evaluated in its own time zone."""

    def __init__(self, expression: str, timezone: str, app: Any = None) -> None:
        super().__init__(app=app)
        self.expression, self.timezone = expression, timezone

    def now(self) -> datetime:
        return datetime.now(UTC)

    def next_after(self, moment: datetime) -> datetime:
        return cron.next_fires(self.expression, self.timezone, _aware(moment), 1)[0]

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return self.next_after(last_run_at) - self.now()

    def is_due(self, last_run_at: datetime) -> tuple[bool, float]:
        now = self.now()
        due = self.next_after(last_run_at) <= now
        following = self.next_after(now)
        return due, max((following - now).total_seconds(), 0.0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronSchedule) and (other.expression, other.timezone) == (
            self.expression,
            self.timezone,
        )

    def __hash__(self) -> int:
        return hash((self.expression, self.timezone))

    def __repr__(self) -> str:
        return f"<cron {self.expression!r} {self.timezone}>"


class EverySchedule(BaseSchedule):  # type: ignore[misc]
    """A fixed interval, measured from the last send."""

    def __init__(self, seconds: float, app: Any = None) -> None:
        super().__init__(app=app)
        self.seconds = seconds

    def now(self) -> datetime:
        return datetime.now(UTC)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return _aware(last_run_at) + timedelta(seconds=self.seconds) - self.now()

    def is_due(self, last_run_at: datetime) -> tuple[bool, float]:
        remaining = self.remaining_estimate(last_run_at).total_seconds()
        if remaining <= 0:
            return True, self.seconds
        return False, remaining

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EverySchedule) and other.seconds == self.seconds

    def __hash__(self) -> int:
        return hash(self.seconds)

    def __repr__(self) -> str:
        return f"<every {self.seconds:g}s>"


class BeatLocked(SystemExit):
    """Raised when another beat already runs against the same broker."""


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """Celery's scheduler with air's entries and its state in Redis instead of a shelve file."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self.plan: Plan = app.air_plan
        self.redis = redis.Redis.from_url(
            app.conf.broker_url, socket_timeout=10, socket_connect_timeout=5
        )
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        kwargs.pop("schedule_filename", None)
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        self._acquire()
        stored = {text(k): text(v) for k, v in self.redis.hgetall(LAST_RUN).items()}
        entries: dict[str, ScheduleEntry] = {}
        for planned in self.plan.beat.values():
            if not planned.enabled:
                continue
            last = stored.get(planned.name)
            entries[planned.name] = ScheduleEntry(
                name=planned.name,
                task=planned.task,
                app=self.app,
                schedule=_schedule(planned, self.app),
                args=tuple(planned.args),
                kwargs=dict(planned.kwargs),
                options=_options(planned),
                last_run_at=datetime.fromisoformat(last) if last else datetime.now(UTC),
            )
        self.data = entries
        logger.info("beat: %d schedules: %s", len(entries), ", ".join(sorted(entries)) or "none")

    def tick(self, *args: Any, **kwargs: Any) -> float:
        self._acquire()
        return super().tick(*args, **kwargs)  # type: ignore[no-any-return]

    def reserve(self, entry: ScheduleEntry) -> ScheduleEntry:
        new_entry = super().reserve(entry)
        self.redis.hset(LAST_RUN, entry.name, _aware(new_entry.last_run_at).isoformat())
        return new_entry

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        planned = self.plan.beat.get(entry.name)
        if planned is not None and planned.overlap == "skip":
            running = self._still_running(planned)
            if running:
                logger.warning(
                    "beat: skipped %s: the previous run %s is still %s",
                    entry.name,
                    running[0],
                    running[1],
                )
                return None
        result = super().apply_async(entry, producer, advance, **kwargs)
        if planned is not None and planned.overlap == "skip" and result is not None:
            self.redis.set(RUNNING.format(entry.name), result.id, ex=int(planned.lock_ttl) + 1)
        return result

    def _still_running(self, planned: PlannedEntry) -> tuple[str, str] | None:
        raw = self.redis.get(RUNNING.format(planned.name))
        if not raw:
            return None
        task_id = text(raw)
        state = self.app.AsyncResult(task_id).state
        return None if state in states.READY_STATES else (task_id, state)

    def _acquire(self) -> None:
        if self.redis.set(LOCK, self.owner, nx=True, ex=LOCK_TTL):
            return
        holder = text(self.redis.get(LOCK) or b"")
        if holder == self.owner or _dead_here(holder):
            self.redis.set(LOCK, self.owner, ex=LOCK_TTL)
            return
        raise BeatLocked(
            f"another air beat ({holder}) already runs against this broker; "
            f"only one may run, or every schedule would fire twice"
        )

    def close(self) -> None:
        super().close()
        if text(self.redis.get(LOCK) or b"") == self.owner:
            self.redis.delete(LOCK)


def _dead_here(holder: str) -> bool:
    """True when the lock holder ran on this host and its process is gone."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _schedule(planned: PlannedEntry, app: Any) -> BaseSchedule:
    if planned.every is not None:
        return EverySchedule(planned.every, app=app)
    assert planned.cron is not None
    return CronSchedule(planned.cron, planned.timezone, app=app)


def _options(planned: PlannedEntry) -> dict[str, Any]:
    options: dict[str, Any] = {"queue": planned.queue, "priority": planned.broker_priority}
    if planned.overlap == "skip":
        options["ignore_result"] = False  # skip reads the last run's state from its result
    if planned.expires is not None:
        options["expires"] = planned.expires
    return options
