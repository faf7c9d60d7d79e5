"""Celery's Redis result backend, storing each result in one atomic round trip.

Before every write Celery reads the stored result back (GET), and skips the write if the task
already SUCCEEDED, so a redelivered duplicate cannot overwrite a good result; then it writes
(SETEX and PUBLISH in a pipeline). That is two round trips in every pool process for every task,
with a window between the read and the write in which another copy of the task can store its
result. Here one Lua script does the check and the write on the server: one round trip, no
window. The rule is the same as Celery's: a stored SUCCESS is never overwritten.

Sending subscribes to nothing: see on_task_call.

The script reads the stored status with Redis's built-in cjson, which air's JSON-only result
serializer makes possible (runtime/compiler/compile.py); a value it cannot decode is overwritten, as
Celery would overwrite any state but SUCCESS.

A result write that cannot reach Redis never turns a finished task into a failure. Celery
stores the result in the process that ran the body, inside the time the pool parent allows
the task (its hard limit counts from the start), and Celery's Redis backend retries a lost
connection for ~20 s: past the hard limit the parent kills the process and records FAILURE
and a `timeout` dead letter for a body that succeeded, and a store that gives up is recorded
as an internal error (FAILURE). Here a write is retried briefly (STORE_RETRY, under a second
in all), then the encoded result goes to a local spool, one file per result under
`$AIR_STATE_DIR/spool` (default `.air/spool` in the worker's directory), written to a
temporary name, fsynced and renamed so a crash leaves a whole file or none. The task ends as
its body did. The spool is written to Redis in the order it was spooled (file names start
with the spooling time in ns) by the same script, so the rule holds there too: a SUCCESS
already stored is never overwritten, and a spooled RETRY stored before its later SUCCESS
ends as SUCCESS. Who flushes: a thread of the process that spooled, every FLUSH_EVERY until
the spool is empty, and every worker when it starts (runtime/celeryapp/hooks.py), for a spool
left by a worker that stopped before Redis came back.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import redis
from celery import states
from celery.backends.redis import RedisBackend, SentinelBackend
from celery.exceptions import BackendStoreError
from kombu.utils.encoding import bytes_to_str

logger = logging.getLogger("air.results")

# Celery's retry_policy keys: three tries ~0.1 s and ~0.3 s apart, then the spool.
STORE_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.3}
FLUSH_EVERY = 1.0  # seconds between tries to write the spool while Redis is down
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# KEYS[1]: the result key. ARGV[1]: the encoded result, ARGV[2]: seconds to keep it (0: forever).
STORE_UNLESS_SUCCEEDED = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta['status'] == 'SUCCESS' then
    return 0
  end
end
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  redis.call('SETEX', KEYS[1], ttl, ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""


class RedisResultBackend(RedisBackend):  # type: ignore[misc]
    def __init__(self, *args: Any, url: str | None = None, **kwargs: Any) -> None:
        # Selected as the app's backend class, so Celery passes no URL: take the configured one.
        app = kwargs.get("app")
        if url is None and app is not None:
            url = app.conf.result_backend
        super().__init__(*args, url=url, **kwargs)
        self._store_script: Any = None
        self._flusher: threading.Thread | None = None

    def on_task_call(self, producer: Any, task_id: str) -> None:
        """Celery subscribes to every sent task's result channel here, in case someone waits:
        two commands per send (SUBSCRIBE, and UNSUBSCRIBE later) for results mostly never read.
        Waiting subscribes anyway (AsyncResult.get) and then reads the stored result, so a
        result published before that is not missed."""

    def _store_result(
        self,
        task_id: Any,
        result: Any,
        state: str,
        traceback: Any = None,
        request: Any = None,
        **kwargs: Any,
    ) -> Any:
        meta = self._get_result_meta(
            result=result, state=state, traceback=traceback, request=request
        )
        meta["task_id"] = bytes_to_str(task_id)  # type: ignore[no-untyped-call]
        value = self.encode(meta)
        if isinstance(value, str) and len(value) > self._MAX_STR_VALUE_SIZE:
            raise BackendStoreError(
                "value too large for Redis backend", state=state, task_id=task_id
            )
        expires = self.failure_expires if state == states.FAILURE else self.expires
        key = bytes_to_str(self.get_key_for_task(task_id))  # type: ignore[no-untyped-call]
        try:
            self.ensure(self._store_unless_succeeded, (key, value, expires or 0), **STORE_RETRY)
        except UNREACHABLE as exc:
            spool_result(key, value, int(expires or 0))
            logger.warning("result of %s spooled: the backend is unreachable (%s)", task_id, exc)
            self._start_flusher()
        return result

    def _start_flusher(self) -> None:
        """A thread of this process writes the spool once Redis answers, then ends."""
        if self._flusher is not None and self._flusher.is_alive():
            return

        def flush_until_empty() -> None:
            while any(spool_dir().glob("*.json")):
                time.sleep(FLUSH_EVERY)
                self.flush_spool()

        self._flusher = threading.Thread(target=flush_until_empty, name="air-spool", daemon=True)
        self._flusher.start()

    def _store_unless_succeeded(self, key: str, value: str | bytes, expires: int) -> None:
        if self._store_script is None:
            # Script objects send EVALSHA and load the script again if the server lost it.
            self._store_script = self.client.register_script(STORE_UNLESS_SUCCEEDED)
        self._store_script(keys=[key], args=[value, int(expires)])

    def flush_spool(self) -> int:
        """Write the spooled results to Redis, oldest first; how many were written. Stops at
        the first that cannot reach Redis (the rest wait for the next flush)."""
        written = 0
        for path in sorted(spool_dir().glob("*.json")):
            try:
                entry = json.loads(path.read_text())
            except (OSError, ValueError):  # another process flushed it, or half-written
                continue
            try:
                self._store_unless_succeeded(entry["key"], entry["value"], entry["expires"])
            except UNREACHABLE:
                return written
            path.unlink(missing_ok=True)
            written += 1
        if written:
            logger.info("wrote %d spooled results to the backend", written)
        return written


def spool_dir() -> Path:
    return Path(os.environ.get("AIR_STATE_DIR") or ".air") / "spool"


def spool_result(key: str, value: str | bytes, expires: int) -> Path:
    """Keep one result on local disk until Redis answers again; durable once this returns."""
    folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    text = value.decode() if isinstance(value, bytes) else value
    name = f"{time.time_ns():020d}-{os.getpid()}"
    temporary = folder / f"{name}.tmp"
    with temporary.open("w") as out:
        json.dump({"key": key, "value": text, "expires": expires}, out)
        out.flush()
        os.fsync(out.fileno())
    path = folder / f"{name}.json"
    temporary.rename(path)
    return path


class SentinelResultBackend(RedisResultBackend, SentinelBackend):  # type: ignore[misc]
    """The same store on the master that Celery's SentinelBackend finds through the Sentinels
    (`master_name` and `sentinel_kwargs` from result_backend_transport_options)."""
