"""The Celery app, built from the compiled plan; `celery -A runtime.celeryapp.app` loads it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from celery import Celery, uuid
from kombu.entity import Queue

from runtime.celeryapp import control, guards, hooks, stamp  # noqa: F401 - control registers air_info
from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from runtime.config import defaults
from runtime.config.reporters import render_text
from runtime.config.validate import InvalidConfig


class AirCelery(Celery):  # type: ignore[misc]
    """Celery, with air's unique tasks applied at every send (air send, beat, task.delay)."""

    air_plan: Plan

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        policy = self.air_plan.tasks.get(name)
        if policy is not None and policy.unique_for:
            task_id = options.setdefault("task_id", uuid())
            holder = guards.existing_claim(self, policy, args, kwargs, task_id)
            if holder is not None:
                result = self.AsyncResult(holder)
                result.air_duplicate = True  # `air send` says so
                return result
        return super().send_task(name, args, kwargs, **options)


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
