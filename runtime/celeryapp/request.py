"""The worker's task request: its events name the queue, task-started carries the wait, and
a success leaves a completion marker with its acknowledgement (runtime/broker/fetch.py).

Celery's task events carry no message headers, so a monitor cannot tell how long a task waited
between send and start. The worker knows both ends: the `air_sent_at` stamp in the request
headers and the moment the pool accepted the task. It adds `air_wait` (seconds) to task-started
and `air_queue` to every task event it sends, for `air monitor` and `air exporter`.
"""

from __future__ import annotations

from typing import Any

from celery.worker import state
from celery.worker.request import Request

from runtime.broker import fetch
from runtime.broker.queues import SENT_AT


class AirRequest(Request):  # type: ignore[misc]
    def acknowledge(self) -> None:
        """A task that succeeded sends its completion marker with its acknowledgement
        (runtime/broker/fetch.py). Celery's per-task request class overrides on_success, not
        this; it marks the task successful (worker state) before acknowledging."""
        if not self.acknowledged and self.id in state.successful_requests:
            fetch.SUCCEEDED[self.message.delivery_tag] = self.id
        super().acknowledge()

    def send_event(self, type: str, **fields: Any) -> None:
        fields.setdefault("air_task", self.name)  # succeeded/failed events carry no name
        queue = (self.delivery_info or {}).get("routing_key")
        if queue:
            fields.setdefault("air_queue", queue)
        if type == "task-started":
            wait = task_wait(self._request_dict.get(SENT_AT), self.time_start)
            if wait is not None:
                fields["air_wait"] = wait
        super().send_event(type, **fields)


def task_wait(sent_at: Any, started_at: float | None) -> float | None:
    """Seconds from send to start, or None when the message carried no send stamp."""
    if not isinstance(sent_at, int | float) or isinstance(sent_at, bool) or not started_at:
        return None
    return max(0.0, started_at - float(sent_at))
