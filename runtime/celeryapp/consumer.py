"""The worker's consumer, with task events published in batches and a quick reconnect.

Celery's consumer buffers task events but flushes the buffer on the very next turn of the
event loop, so a busy worker publishes one small message for almost every event: three Redis
publishes per task, the largest per-task cost measured in bench/throughput.py. This consumer
flushes on a short timer instead (and early once a buffer holds EVENT_BUFFER_LIMIT events),
so monitors see events at most EVENT_FLUSH_INTERVAL late and the worker pays for one publish
per batch. The buffer is flushed before the consumer stops or its connection
closes, so no event is held back at shutdown.

After a lost broker connection, Celery's consumer retries with kombu's default backoff: 2 s
more each attempt, up to 30 s apart, so a worker could sit idle for most of half a minute after
Redis came back (12.5 s measured after the 30 s outage of tests/chaos/test_workers.py). Here the
attempts are at most RECONNECT_MAX apart, as beat's (runtime/sending/beat.py), for as long as it
takes: giving up would end the worker, and a supervisor would only start it again.
"""

from __future__ import annotations

import time
from typing import Any

from celery.worker.consumer import Consumer

from runtime.celeryapp import heart

EVENT_FLUSH_INTERVAL = 0.1  # seconds
# Celery's dispatcher also flushes once a buffer holds 24 events: at a few thousand tasks/s
# (three events each) that is a publish every eighth task, not every 0.1 s. The timer bounds
# the delay, so the size limit only caps a batch's message.
EVENT_BUFFER_LIMIT = 1000
RECONNECT_MAX = 2.0  # seconds between two attempts to reach a lost broker, at most


class AirConsumer(Consumer):  # type: ignore[misc]
    class Blueprint(Consumer.Blueprint):  # type: ignore[misc]
        # Heartbeats that carry the pool's process count (runtime/celeryapp/heart.py).
        default_steps = [
            "runtime.celeryapp.heart:AirHeart" if step == heart.STEP else step
            for step in Consumer.Blueprint.default_steps
        ]

    # When the pending flush is due (monotonic seconds), or None when none is pending. A flush
    # long overdue was dropped with the timer (a broker reconnect clears it): schedule anew.
    _event_flush_due: float | None = None

    def on_send_event_buffered(self) -> None:
        dispatcher = self.event_dispatcher
        if dispatcher is not None and dispatcher.buffer_limit < EVENT_BUFFER_LIMIT:
            dispatcher.buffer_limit = EVENT_BUFFER_LIMIT
        if not self.hub:
            return
        now = time.monotonic()
        due = self._event_flush_due
        if due is None or now > due + 1.0:
            self._event_flush_due = now + EVENT_FLUSH_INTERVAL
            self.hub.call_later(EVENT_FLUSH_INTERVAL, self._flush_buffered_events)

    def _flush_buffered_events(self) -> None:
        self._event_flush_due = None
        self._flush_events()

    def ensure_connected(self, conn: Any) -> Any:
        # Celery passes no intervals to kombu's ensure_connection: give it ours. max_retries
        # None: retry until the broker answers (Celery's 100 attempts, 2 s apart, would end the
        # worker after 200 s).
        ensure = conn.ensure_connection

        def quick(errback: Any, max_retries: Any = None, **options: Any) -> Any:
            return ensure(
                errback,
                None,
                interval_start=0.5,
                interval_step=0.5,
                interval_max=RECONNECT_MAX,
                **options,
            )

        conn.ensure_connection = quick
        try:
            return super().ensure_connected(conn)
        finally:
            del conn.ensure_connection

    def stop(self) -> Any:
        self._flush_events()
        return super().stop()

    def shutdown(self) -> Any:
        self._flush_events()
        return super().shutdown()
