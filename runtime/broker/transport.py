"""kombu's Redis transport, with two changes for air's workers.

One Redis client per channel instead of one per command. kombu builds a new `redis.Redis`
object for every acknowledgement, every delivered message's entry in the unacked index and
every publish that does not bring its own client. Building one copies redis-py's table of ~200
response callbacks, which measured ~9 % of a busy worker's main process (bench/throughput.py
under py-spy). The client object only wraps the channel's connection pool and is safe to share,
so each channel builds it once; connections still come from, and go back to, the same pool.

A broker crash under a running task must not kill the worker. When the connection is lost,
Celery first detaches the transport from its connection, then closes the channel; closing tries
to put the unacknowledged messages back on their queues, and kombu, building a connection pool
for that from the detached (None) connection, raises AttributeError, which Celery reports as an
"Unrecoverable error" and exits (seen with kombu 5.7: tests/e2e/test_task_events.py). Here the
attempt is a connection error instead, which the close path expects and ignores; the messages
stay in Redis's unacked index and come back after the visibility timeout, as for any worker
lost mid-task. The worker reconnects and carries on.

Used for `redis://` brokers (runtime/compiler/compile.py); `rediss://` and `redis+socket://`
URLs keep kombu's own transport.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        if self._pool is None and self.connection.client is None:
            raise redis.exceptions.ConnectionError(
                "the broker connection is closed; unacknowledged messages return to their "
                "queues after the visibility timeout"
            )
        pool = self.pool
        client = self._sync_client
        if client is None or client.connection_pool is not pool:
            client = self._sync_client = super()._create_client()  # type: ignore[no-untyped-call]
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
