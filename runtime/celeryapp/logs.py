"""Structured logs: structlog for air's and Celery's records alike; JSON when not on a terminal.

Inside a task every line carries the task's name, id, queue and retry count (bound on
task_prerun, cleared on task_postrun). AIR_LOG_FORMAT=json|console overrides the choice.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def use_json(stream: IO[str]) -> bool:
    choice = os.environ.get("AIR_LOG_FORMAT", "").lower()
    if choice in ("json", "console"):
        return choice == "json"
    return not (hasattr(stream, "isatty") and stream.isatty())


def configure(level: int | str = logging.INFO, stream: IO[str] | None = None) -> None:
    """Route every log record (stdlib and structlog) through one structured renderer."""
    stream = stream or sys.stderr
    json_output = use_json(stream)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json_output else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    pool = os.environ.get("AIR_POOL")
    if pool:
        structlog.contextvars.bind_contextvars(pool=pool)


def _identity(logger: Any, name: str, event: Any) -> Any:
    return event


def bind_task(task: Any) -> None:
    request = task.request
    structlog.contextvars.bind_contextvars(
        task=task.name,
        task_id=request.id,
        queue=(request.delivery_info or {}).get("routing_key"),
        retries=request.retries or 0,
    )


def unbind_task() -> None:
    structlog.contextvars.unbind_contextvars("task", "task_id", "queue", "retries")
