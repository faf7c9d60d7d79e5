"""kombu's Redis transport, with one Redis client per channel instead of one per command.

kombu builds a new `redis.Redis` object for every acknowledgement, every delivered message's
entry in the unacked index and every publish that does not bring its own client. Building one
copies redis-py's table of ~200 response callbacks, which measured ~9 % of a busy worker's main
process (bench/throughput.py under py-spy). The client object only wraps the channel's
connection pool and is safe to share, so each channel builds it once; connections still come
from, and go back to, the same pool as before.

Used for `redis://` brokers (runtime/compile.py); `rediss://` and `redis+socket://` URLs keep
kombu's own transport untouched.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _sync_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        pool = self.pool
        client = self._sync_client
        if client is None or client.connection_pool is not pool:
            client = self._sync_client = super()._create_client()  # type: ignore[no-untyped-call]
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
