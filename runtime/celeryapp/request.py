"""The worker's task request: its events name the queue, and task-started carries the wait.

Celery's task events carry no message headers, so a monitor cannot tell how long a task waited
between send and start. The worker knows both ends: the `air_sent_at` stamp in the request
headers and the moment the pool accepted the task. It adds `air_wait` (seconds) to task-started
and `air_queue` to every task event it sends, for `air monitor` and `air exporter`.
"""

from __future__ import annotations

from typing import Any

from celery.worker.request import Request

from runtime.broker.queues import SENT_AT


class AirRequest(Request):  # type: ignore[misc]
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
