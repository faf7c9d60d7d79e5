"""The smoke-test task: proves a pool is up end to end."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import shared_task


@shared_task(name="debug", bind=True)
def debug(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Echo the arguments with where and how the task ran."""
    return {
        "args": list(args),
        "kwargs": kwargs,
        "task_id": self.request.id,
        "queue": (self.request.delivery_info or {}).get("routing_key"),
        "worker": self.request.hostname or socket.gethostname(),
        "pid": os.getpid(),
    }
