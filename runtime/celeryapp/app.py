"""The Celery app, built from the compiled plan; `celery -A runtime.celeryapp.app` loads it.

It can capture publishes instead of sending them: inside `publish_commands`, every task
message this thread sends through the app (one task, or every message of a whole canvas) goes
through one pooled producer whose kombu publish batch keeps the Redis commands the transport
would run, and runs none of them; a unique task's claim is noted, not taken. Beat runs them
inside its exactly-once fire script (runtime/broker/fires.py), so a fire is claimed, its
unique claims taken and its messages sent in one atomic step, or none of it.
Celery's canvas drops an explicit `producer=` on the way to a chain's first task, which is why
the producer is swapped in at `send_task` rather than passed in.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from celery import Celery, uuid
from kombu.entity import Queue

from runtime.broker.fires import Claim
from runtime.celeryapp import control, guards, hooks, stamp  # noqa: F401 - control registers air_info
from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from runtime.config import defaults
from runtime.config.reporters import render_text
from runtime.config.validate import InvalidConfig

Command = tuple[str, tuple[Any, ...]]  # a Redis command name and its arguments (key first)


class _Collector:
    """Stands in for kombu's Redis PublishBatch (Producer.batch()): the transport routes the
    message and hands over its final commands; they are kept here, never executed."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.commands: list[Command] = []

    def publish(self, message: Any, **kwargs: Any) -> Any:
        return self.channel.basic_publish(message, _publish_batch=self, **kwargs)

    def add(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))

    def flush(self) -> None:
        """Nothing to send: the caller runs the commands."""

    def discard(self) -> None:
        self.commands.clear()

    def close(self) -> None:
        """Nothing held open."""


@dataclass(frozen=True, slots=True)
class Captured:
    """What a send would have done: its Redis commands and the unique claims it needs."""

    commands: list[Command]
    claims: list[Claim]


class AirCelery(Celery):  # type: ignore[misc]
    """Celery, with air's unique tasks applied at every send (air send, beat, task.delay), and
    publishes it can capture instead of sending."""

    air_plan: Plan
    # The producer and the capture of this thread while publish_commands runs.
    _capturing = threading.local()

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        policy = self.air_plan.tasks.get(name)
        capture: Captured | None = getattr(self._capturing, "captured", None)
        if policy is not None and policy.unique_for:
            task_id = options.setdefault("task_id", uuid())
            if capture is not None:  # the fire commit takes the claim, with the message
                capture.claims.append(guards.unique_claim(self, policy, args, kwargs, task_id))
            elif holder := guards.existing_claim(self, policy, args, kwargs, task_id):
                result = self.AsyncResult(holder)
                result.air_duplicate = True  # `air send` says so
                return result
        if capture is not None:  # publish_commands is on in this thread
            options["producer"] = self._capturing.producer
        return super().send_task(name, args, kwargs, **options)

    def publish_commands(self, send: Callable[[], object], what: str) -> Captured:
        """The Redis commands that `send()` would run to publish its messages, with Celery's
        own routing, serializer and protocol, and the unique claims they need. Queue
        declarations (idempotent) and result-backend writes (a chord's counter) happen now;
        the messages and claims do not."""
        if getattr(self._capturing, "captured", None) is not None:
            raise RuntimeError("publish captures do not nest")
        with self.producer_or_acquire() as producer:  # pooled: no connection set up per fire
            channel = producer.channel
            collector = _Collector(channel)
            channel.create_publish_batch = lambda max_size: collector
            captured = Captured(collector.commands, [])
            self._capturing.producer, self._capturing.captured = producer, captured
            try:
                with producer.batch():
                    send()
            finally:
                self._capturing.producer = self._capturing.captured = None
                del channel.create_publish_batch  # the pooled channel publishes normally again
        if not captured.commands:
            raise RuntimeError(f"the broker transport published {what} without a batch")
        return captured


def create_app(plan: Plan) -> Celery:
    # Modules under `imports:` resolve from the working directory, as with `celery -A`.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    app = AirCelery("air", task_cls="runtime.celeryapp.task:AirTask", set_as_current=True)
    app.conf.update(plan.celery)
    if plan.result_backend_class:
        app.backend_cls = plan.result_backend_class
    app.conf.task_queues = [Queue(q.name, routing_key=q.name) for q in plan.queues]  # type: ignore[no-untyped-call]
    app.conf.imports = list(plan.imports)
    app.air_plan = plan
    hooks.install(app)
    stamp.install()
    return app


def config_dir() -> Path:
    return Path(os.environ.get("AIR_CONFIG_DIR") or defaults.CONFIG_DIR)


def _from_environment() -> Celery:
    try:
        plan, _ = load_plan(config_dir())
    except InvalidConfig as exc:
        sys.stderr.write(render_text(exc.validation.report))
        sys.stderr.write(f"error: {exc.message}\n")
        raise SystemExit(exc.exit_code) from None
    return create_app(plan)


_app: list[Celery] = []


def __getattr__(name: str) -> Any:
    """`runtime.celeryapp.app.app` is built on first use, from AIR_CONFIG_DIR (default ./config)."""
    if name in ("app", "celery"):
        if not _app:
            _app.append(_from_environment())
        return _app[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
