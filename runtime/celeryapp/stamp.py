"""Every message an air process publishes carries its send time, so the age of a queue's oldest
waiting message is read from the end of a list (runtime/broker/queues.py), never by a scan."""

from __future__ import annotations

import time
from typing import Any

from celery import signals

from runtime.broker.queues import SENT_AT


def install() -> None:
    # Process-wide, like every Celery signal; weak=False keeps the module-level handler alive.
    signals.before_task_publish.connect(_stamp, weak=False, dispatch_uid="air-send-stamp")


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:
        headers[SENT_AT] = time.time()  # every publish, retries included, is a new send
