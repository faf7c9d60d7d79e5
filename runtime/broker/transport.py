"""kombu's Redis transport, with cheaper delivery and three fixes for air's workers.

Delivery (runtime/broker/fetch.py): while messages keep coming, each fetch is one Lua script
that pops the most urgent message across the consumed queues, records it in kombu's unacked
index and removes the entries of the messages acknowledged since: one round trip per message
instead of three. When a fetch finds every queue empty, the channel waits with kombu's own
BRPOP (same keys, same order) until the next message arrives, then goes back to the script.
Priorities stay strict: both walk every priority step of every queue, most urgent first.
An at-most-once queue's messages (`delivery: at_most_once`) get no unacked-index entry: they
leave Redis when fetched. Before each fetch, broadcasts already waiting (a revoke) are handled.

This overrides or calls private kombu methods (`Channel._brpop_start`, `_brpop_read`,
`_receive`, `QoS.append`, `QoS.ack`), so it is tied to the kombu versions it was tested with:
KOMBU_TESTED.

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
URLs keep kombu's own transport. `sentinel://` brokers use SentinelTransport: this channel on
kombu's Sentinel connection pool, so the fetch script, the shared client and the crash fix
stay, and every connection asks the Sentinels where the master is. After a failover the new
master does not know the fetch script yet: its NoScriptError loads it again (_read_fetch).
"""

from __future__ import annotations

import json
import logging
from queue import Empty
from time import monotonic, time
from typing import Any

import kombu
import redis
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

from runtime.broker import fetch
from runtime.broker.deadletter import LIMIT, UNDECODABLE
from runtime.config.errors import AirError

KOMBU_TESTED = ("5.7",)  # major.minor versions the overrides here are tested with
_readable: Any = kombu_redis._socket_readable  # poll(0) without consuming the data


logger = logging.getLogger("air.transport")


class UnsupportedKombu(AirError):
    """Raised when the installed kombu is not a version air's transport was tested with."""

    exit_code = 70


def check_kombu(version: str = kombu.__version__) -> None:
    if ".".join(version.split(".")[:2]) not in KOMBU_TESTED:
        raise UnsupportedKombu(
            f"kombu {version} is installed; air's Redis transport is tested with kombu "
            f"{', '.join(KOMBU_TESTED)} only",
            hint="install a tested kombu (pip install 'kombu>=5.7,<5.8')",
        )


class Channel(kombu_redis.Channel):
    QoS = fetch.QoS
    _sync_client: Any = None
    _fetch_sha: str | None = None
    _fetch_next = True  # fetch with the script (messages keep coming) or wait with BRPOP
    # the acks (tags, ids of succeeded tasks) sent with the fetch awaiting a reply
    _fetch_in_flight: tuple[list[str], list[str]] | None = None
    # Queues consumed without acknowledgements (a client's reply queue): the script would
    # record their messages as unacknowledged, so a channel with one fetches as kombu does.
    _no_ack_queues: frozenset[str] = frozenset()

    @property
    def at_most_once_queues(self) -> frozenset[str]:
        """Queues whose messages leave Redis when fetched (`delivery: at_most_once`)."""
        names = self.__dict__.get("_at_most_once")
        if names is None:
            options = self.connection.client.transport_options
            names = self.__dict__["_at_most_once"] = frozenset(
                options.get("at_most_once_queues", ())
            )
        return names

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues |= {queue}
        return super().basic_consume(queue, no_ack, *args, **kwargs)  # type: ignore[no-untyped-call]

    def basic_cancel(self, consumer_tag: str) -> Any:
        self._no_ack_queues -= {self._tag_to_queue.get(consumer_tag)}
        return super().basic_cancel(consumer_tag)  # type: ignore[no-untyped-call]

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

    def _brpop_start(self, timeout: float | None = None) -> None:
        if not self._fetch_next or self.global_keyprefix or self._no_ack_queues:
            super()._brpop_start(timeout)  # type: ignore[no-untyped-call]
            return
        queues = self._queue_cycle.consume(len(self.active_queues))
        if not queues:
            return
        if self._fetch_sha is None:
            self._fetch_sha = self._create_client().script_load(fetch.FETCH)
        self._control_first()
        pairs = [(queue, pri) for pri in self.priority_steps for queue in queues]
        keys = [self._q_for_pri(q, p) for q, p in pairs]  # type: ignore[no-untyped-call]
        record = "".join("0" if q in self.at_most_once_queues else "1" for q, _ in pairs)
        acks = self.qos.take_pending()
        connection = self.client.connection
        self._in_poll = connection
        self._brpop_sent_at = monotonic()  # type: ignore[assignment]
        self._fetch_in_flight = acks
        args = fetch.fetch_args(self, keys, record, acks)
        try:
            connection.send_command("EVALSHA", self._fetch_sha, *args)
        except self.connection_errors:
            self._fetch_in_flight = None
            self.qos.give_back(*acks)  # kept for the next connection when this channel closes
            raise

    def _control_first(self) -> None:
        """Handle the broadcasts (a revoke, a ping) waiting on the connection's fanout channels
        (Celery's control channel is another channel of this connection) before fetching: a
        solo process busy with a task has not read them, and would otherwise run the next
        task, perhaps a revoked one, first."""
        for channel in self.connection.channels:
            client = channel.__dict__.get("subclient")  # only if kombu built it
            sock = getattr(getattr(client, "connection", None), "_sock", None)
            if channel._in_listen and sock is not None and _readable(sock):
                channel._receive()

    def _brpop_read(self, **options: Any) -> Any:
        acks = self._fetch_in_flight
        if acks is None:  # a BRPOP: kombu records what it delivers; the next fetch is a script
            delivered = self._brpop_deliver(**options)
            self._fetch_next = True
            return delivered
        self._fetch_in_flight = None
        try:
            reply = self._read_fetch(acks, **options)
            if not reply:
                self._fetch_next = False  # every queue is empty: wait with BRPOP
                raise Empty()
            key, item = reply
            dest = bytes_to_str(key).rsplit(self.sep, 1)[0]  # type: ignore[no-untyped-call]
            payload = self._decode(dest, item)
            tag = payload["properties"]["delivery_tag"]
            if dest in self.at_most_once_queues:
                self.qos.unrecorded.add(tag)
            else:
                self.qos.recorded.add(tag)
            self._queue_cycle.rotate(dest)
            self.connection._deliver(payload, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]

    def _brpop_deliver(self, **options: Any) -> bool:
        """kombu's BRPOP read (kombu 5.7 Channel._brpop_read), except that bytes which are no
        message are set aside instead of killing the worker with a decode error."""
        try:
            try:
                reply = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()  # the next poll reconnects
                raise
            if not reply:
                raise Empty()
            key, item = reply
            dest = bytes_to_str(key).rsplit(self.sep, 1)[0]  # type: ignore[no-untyped-call]
            self._queue_cycle.rotate(dest)
            self.connection._deliver(self._decode(dest, item), dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            self._flush_brpop_reauth()  # type: ignore[no-untyped-call]

    def _decode(self, queue: str, item: bytes) -> Any:
        """The message in `item`; else it goes to the store of undecodable bytes and the
        fetch yields nothing (raises Empty)."""
        try:
            payload = loads(bytes_to_str(item))  # type: ignore[no-untyped-call]
            payload["properties"]["delivery_info"]  # noqa: B018 - what delivery needs
            return payload
        except (ValueError, KeyError, TypeError):
            raw = item.decode("utf-8", "backslashreplace")
            entry = json.dumps({"queue": queue, "at": time(), "raw": raw})
            with self.client.pipeline() as pipe:
                pipe.lpush(UNDECODABLE, entry).ltrim(UNDECODABLE, 0, LIMIT - 1).execute()
            logger.error("set aside %d bytes on queue %s that are no message", len(item), queue)
            raise Empty() from None

    def _read_fetch(self, acks: tuple[list[str], list[str]], **options: Any) -> Any:
        client = self.client
        try:
            return client.parse_response(client.connection, "EVALSHA", **options)
        except self.connection_errors:
            self.qos.give_back(*acks)
            client.connection.disconnect()
            raise
        except redis.exceptions.NoScriptError:
            # The server restarted and forgot the script: load it again on the next fetch.
            self.qos.give_back(*acks)
            self._fetch_sha = None
            raise Empty() from None

    def close(self) -> None:
        if not self.closed:
            try:
                self.qos.flush()
            except self.connection_errors:
                # Sent by the channel of the next connection (runtime/broker/fetch.py).
                self.qos.keep_undelivered()
        super().close()  # type: ignore[no-untyped-call]


class Transport(kombu_redis.Transport):
    Channel = Channel
    air_loop: Any = None  # the worker's event loop, which flushes deferred acknowledgements

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        self.air_loop = loop
        super().register_with_event_loop(connection, loop)  # type: ignore[no-untyped-call]


class SentinelChannel(Channel, kombu_redis.SentinelChannel):
    """air's channel on kombu's Sentinel-managed pool: kombu's SentinelChannel only builds the
    pool (`_get_pool`) and reads `master_name`/`sentinel_kwargs`; air's Channel does the rest."""


class SentinelTransport(Transport):
    Channel = SentinelChannel
    default_port: Any = kombu_redis.SentinelTransport.default_port
