"""One consumer of the worker event stream, in a background thread, feeding a Tally: Celery's
EventReceiver on its own broker connection, reconnecting with a capped backoff when the broker
goes away, so a monitor or exporter outlives a Redis restart."""

from __future__ import annotations

import logging
import threading
from typing import Any

from runtime.process.tally import Tally

logger = logging.getLogger("air.events")

BACKOFF_MAX = 5.0  # seconds between reconnection attempts, at most


class EventWatcher:
    def __init__(self, app: Any, tally: Tally) -> None:
        self.app = app
        self.tally = tally
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._run, name="air-events", daemon=True)

    def start(self) -> EventWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.should_stop = True  # the receiver checks it at least once a second
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                self._capture()
                delay = 0.2
            except Exception as exc:  # any broker failure: say so once per attempt, retry
                self.connected.clear()
                if self._stop.is_set():
                    return
                logger.warning(
                    "events: %s: %s; reconnecting in %.1fs", type(exc).__name__, exc, delay
                )
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    def _capture(self) -> None:
        with self.app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            receiver = self.app.events.Receiver(connection, handlers={"*": self.tally.event})
            self._receiver = receiver
            if self._stop.is_set():
                return
            self.connected.set()
            # wakeup: every worker sends a heartbeat now, so pools show at once, not within 2 s.
            receiver.capture(limit=None, timeout=None, wakeup=True)
