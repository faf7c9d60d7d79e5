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
"""

from __future__ import annotations

from typing import Any

from celery import states
from celery.backends.redis import RedisBackend, SentinelBackend
from celery.exceptions import BackendStoreError
from kombu.utils.encoding import bytes_to_str

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
        key = self.get_key_for_task(task_id)
        self.ensure(self._store_unless_succeeded, (key, value, expires or 0))
        return result

    def _store_unless_succeeded(self, key: bytes, value: str | bytes, expires: int) -> None:
        if self._store_script is None:
            # Script objects send EVALSHA and load the script again if the server lost it.
            self._store_script = self.client.register_script(STORE_UNLESS_SUCCEEDED)
        self._store_script(keys=[key], args=[value, int(expires)])


class SentinelResultBackend(RedisResultBackend, SentinelBackend):  # type: ignore[misc]
    """The same store on the master that Celery's SentinelBackend finds through the Sentinels
    (`master_name` and `sentinel_kwargs` from result_backend_transport_options)."""
