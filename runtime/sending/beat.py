"""Active-active beat for air: any number of beats on any hosts send each fire of each schedule
exactly once (runtime/broker/fires.py), catch up on fires missed while every beat or the broker
was down (within `catch_up`), delay fires by a jitter every beat agrees on, and ride out broker
outages. Fire times come from runtime.config.cron, the ones `air schedule` prints.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import redis
from celery import states
from celery.beat import Scheduler
from kombu.exceptions import OperationalError

from runtime.broker.beats import BeatInfo, beat_alive, beat_gone
from runtime.broker.clients import broker_client
from runtime.broker.fires import Fire, Fires
from runtime.broker.workflow_runs import WorkflowRuns
from runtime.compiler.plan import Plan
from runtime.compiler.plan import ScheduleEntry as PlannedEntry
from runtime.config import cron
from runtime.config.redact import redact
from runtime.sending import workflows

logger = logging.getLogger("air.beat")

# What a broker outage raises on the way: redis-py's own errors, and kombu's wrapping of them.
BROKER_ERRORS = (redis.ConnectionError, redis.TimeoutError, OperationalError, OSError)
TICK = 1.0  # seconds between passes at most: a beat killed with -9 costs the others this much
HEARTBEAT_EVERY = 2.0
MAX_BACKOFF = 5.0
STEPS_PER_TICK = 1000  # fires one schedule may send in one pass; the rest follow next pass
MAX_MISSED_WALK = 100_000  # fires counted as missed in one step
FIRE_HEADER = "air_fire"  # message header: ISO time of the fire the message was sent for


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


class RedisScheduler(Scheduler):  # type: ignore[misc]
    """Celery's scheduler interface with air's exactly-once fires; no local state at all."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self.plan: Plan = app.air_plan
        self.redis = broker_client(app.conf, timeout=5, connect_timeout=3)
        self.fires = Fires(self.redis)
        self.runs = WorkflowRuns(self.redis)
        now = time.time()
        self.beat = BeatInfo(
            host=socket.gethostname(), pid=os.getpid(), started=now, last_tick=0.0, schedules=0
        )
        self.down_since: float | None = None
        self.failures = 0
        kwargs.pop("schedule_filename", None)
        super().__init__(app, *args, **kwargs)

    def setup_schedule(self) -> None:
        self.entries = [p for p in self.plan.beat.values() if p.enabled]
        self.beat = replace(self.beat, schedules=len(self.entries))
        self.data: dict[str, Any] = {}  # Celery's own entry table stays empty
        names = ", ".join(sorted(p.name for p in self.entries)) or "none"
        logger.info("beat: %d schedules: %s", len(self.entries), names)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.time()
        try:
            wait = self._pass(now)
        except BROKER_ERRORS as exc:
            return self._broker_down(now, exc)
        if self.down_since is not None:
            logger.warning("beat: broker back after %.1fs", now - self.down_since)
            self.down_since, self.failures = None, 0
        return max(min(wait, TICK), 0.01)

    def _broker_down(self, now: float, exc: Exception) -> float:
        if self.down_since is None:
            self.down_since = now
            logger.error(
                "beat: broker %s unreachable (%s); retrying, fires due meanwhile follow "
                "within each schedule's catch_up",
                redact(self.app.conf.broker_url),
                exc,
            )
        self.failures += 1
        return float(min(0.25 * 2**self.failures, MAX_BACKOFF))

    def _pass(self, now: float) -> float:
        if now - self.beat.last_tick >= HEARTBEAT_EVERY:
            self.beat = replace(self.beat, last_tick=now)
            beat_alive(self.redis, self.beat)
        return min((self._advance(planned, now) for planned in self.entries), default=TICK)

    def _advance(self, planned: PlannedEntry, now: float) -> float:
        """Handle every fire of one schedule that is due by `now`; seconds to its next fire."""
        expected = self.fires.start(planned.name, round(now * 1000))
        for _ in range(STEPS_PER_TICK):
            fire = self._next(planned, int(expected))
            due = fire.timestamp() + cron.jitter_delay(planned.name, fire, planned.jitter)
            if due > now:
                return due - now
            step = self._step(planned, expected, fire, now - due, now)
            outcome = self.fires.commit(step)
            if outcome is not None:
                self._log(planned, replace(step, outcome=outcome), now - due)
                expected = str(step.cursor_ms)
            else:  # another beat handled it first
                expected = self.fires.cursor(planned.name)
        return 0.0

    def _next(self, planned: PlannedEntry, after_ms: int) -> datetime:
        after = datetime.fromtimestamp(after_ms / 1000, UTC)
        return cron.next_fire(planned.cron, planned.every, planned.timezone, after)

    def _step(
        self, planned: PlannedEntry, expected: str, fire: datetime, late: float, now: float
    ) -> Fire:
        base = Fire(schedule=planned.name, expected=expected, cursor_ms=_ms(fire), outcome="sent")
        if late > planned.catch_up:
            last, count = self._missed(planned, fire, now)
            return replace(base, outcome="missed", cursor_ms=_ms(last), count=count)
        if planned.overlap == "skip" and self._still_running(planned):
            return replace(base, outcome="overlap")
        if planned.workflow:
            return self._workflow_step(planned, base, fire)
        task_id = str(uuid.uuid4())
        # The fire time travels in the message, so a task (or an audit) can tell which fire
        # it serves, and duplicates would be visible.
        options = {**_options(planned), "headers": {FIRE_HEADER: fire.isoformat()}}
        captured = self.app.publish_commands(
            lambda: self.app.send_task(
                planned.task,
                args=list(planned.args),
                kwargs=dict(planned.kwargs),
                task_id=task_id,
                **options,
            ),
            planned.task,
        )
        return replace(
            base,
            fired_at=fire.isoformat(),
            task_id=task_id,
            running_ttl=int(planned.lock_ttl) + 1 if planned.overlap == "skip" else 0,
            commands=captured.commands,
            claims=captured.claims,
        )

    def _workflow_step(self, planned: PlannedEntry, base: Fire, fire: datetime) -> Fire:
        """The commit records the run (so the overlap marker and `air status` see it at once)
        and pushes the messages of the canvas's first step or parallel steps, in one script:
        a beat killed at any instant has started the run whole or not at all."""
        workflow = self.plan.workflows[planned.workflow]
        run_id = str(uuid.uuid4())
        signature = workflows.canvas(self.app, self.plan, workflow, run_id)
        captured = self.app.publish_commands(signature.apply_async, f"workflow {workflow.name}")
        return replace(
            base,
            fired_at=fire.isoformat(),
            task_id=run_id,
            running_ttl=int(planned.lock_ttl) + 1 if planned.overlap == "skip" else 0,
            commands=[
                *self.runs.start_commands(run_id, workflow.name, workflow.size),
                *captured.commands,
            ],
            claims=captured.claims,
        )

    def _missed(self, planned: PlannedEntry, fire: datetime, now: float) -> tuple[datetime, int]:
        """The last fire too late to send, and how many there are from `fire` on."""
        count, last = 1, fire
        for _ in range(MAX_MISSED_WALK):
            following = cron.next_fire(planned.cron, planned.every, planned.timezone, last)
            delay = cron.jitter_delay(planned.name, following, planned.jitter)
            if now - (following.timestamp() + delay) <= planned.catch_up:
                break
            count, last = count + 1, following
        return last, count

    def _still_running(self, planned: PlannedEntry) -> bool:
        task_id = self.fires.running(planned.name)
        if task_id is None:
            return False
        if planned.workflow:  # the marker holds the run id: its record says if it ended
            run = self.runs.get(task_id)
            return run is not None and run.state == "running"
        return self.app.AsyncResult(task_id).state not in states.READY_STATES

    def _log(self, planned: PlannedEntry, step: Fire, late: float) -> None:
        if step.outcome == "sent":
            logger.info(
                "beat: sent %s (%s%s) %.2fs after its fire time",
                planned.name,
                f"workflow {planned.workflow} run " if planned.workflow else "",
                step.task_id,
                late,
            )
        elif step.outcome == "missed":
            logger.warning(
                "beat: skipped %d fire(s) of %s missed by more than catch_up %gs",
                step.count,
                planned.name,
                planned.catch_up,
            )
        elif step.claims:  # prepared as sent; the commit found a unique claim held
            logger.warning(
                "beat: skipped %s: a task with the same unique key is still queued or running",
                planned.name,
            )
        else:
            logger.warning("beat: skipped %s: its previous run is still going", planned.name)

    def close(self) -> None:
        try:
            beat_gone(self.redis, self.beat)
        except BROKER_ERRORS:
            pass  # the key expires by itself
        super().close()


def _options(planned: PlannedEntry) -> dict[str, Any]:
    options: dict[str, Any] = {"queue": planned.queue, "priority": planned.broker_priority}
    if planned.overlap == "skip":
        options["ignore_result"] = False  # skip reads the last run's state from its result
    if planned.expires is not None:
        options["expires"] = planned.expires
    return options
