"""The fetch script and the deferred acknowledgements of air's Redis transport.

kombu pays three round trips per message: BRPOP, a MULTI/ZADD/HSET/EXEC recording the delivery
in the unacked index, and a MULTI/ZREM/HDEL/EXEC when it is acknowledged. Here one Lua script
pops the most urgent message, records it in the same `unacked` hash and `unacked_index` zset
kombu uses (so kombu's restore of messages past the visibility timeout works unchanged), and
removes the entries of the messages acknowledged since the previous fetch: one round trip per
message at steady state. Being one script, the pop and its record are atomic: no window in
which a crash loses a popped message (BRPOP and the MULTI that follows it have one).

An acknowledgement waits for the next fetch, at most ACK_DELAY: a timer sends whatever is still
pending when the worker is idle or busy with a long task, and closing the channel sends the
rest. A worker killed in that window has its last tasks delivered again after the visibility
timeout: at-least-once, with up to ACK_DELAY of duplicates.

A task that succeeded leaves a completion marker, DONE (its task id, kept a little over the
visibility timeout), written by the same script with its acknowledgement: no round trip of its
own, whether or not its result is stored. The redelivery guard (runtime/celeryapp/guards.py)
acknowledges a redelivered message whose task has one without running it. Acknowledgements
(and markers) that could not reach Redis because the connection was lost, and those of tasks
that end after it was lost, are kept by the process (UNDELIVERED) and sent with the next fetch
of the connection that replaces it: a message whose outage was shorter than the visibility
timeout is then never redelivered, and one that came back anyway finds the marker. A worker
that stops during the outage loses them: its finished tasks run again after the visibility
timeout, as before.
"""

from __future__ import annotations

import threading
from time import time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

ACK_DELAY = 0.1  # seconds an acknowledgement may wait for the next fetch
DONE = "air:done:{}"  # per task id that succeeded: its redelivery is acknowledged, not run
DONE_BEYOND_VISIBILITY = 60.0  # seconds a marker outlives the visibility timeout
# delivery tag -> task id, for tasks that succeeded and whose acknowledgement is on its way
SUCCEEDED: dict[str, str] = {}
# Acknowledgements and markers of a channel whose connection was lost: (tags, task ids).
UNDELIVERED: tuple[list[str], list[str]] = ([], [])

# KEYS: the queue lists, most urgent first, then the unacked hash and the unacked index.
# ARGV[1]: now (seconds), ARGV[2]: one character per list, '1' to record what it delivers in
# the unacked index, '0' for an at-most-once queue's; ARGV[5..]: delivery tags acknowledged
# since the last fetch, then the ids of the tasks among them that succeeded: ARGV[3] is how
# many tags, ARGV[4] the seconds to keep a DONE marker. Returns {list key, message} or nil
# when every list is empty. The stored entry is what kombu's QoS.append stores:
# [message, exchange, routing_key] as JSON, the message kept verbatim.
FETCH = """
local unacked, index = KEYS[#KEYS - 1], KEYS[#KEYS]
local acks = tonumber(ARGV[3])
if acks > 0 then
  redis.call('HDEL', unacked, unpack(ARGV, 5, 4 + acks))
  redis.call('ZREM', index, unpack(ARGV, 5, 4 + acks))
end
for i = 5 + acks, #ARGV do
  redis.call('SET', 'air:done:' .. ARGV[i], '1', 'EX', ARGV[4])
end
for i = 1, #KEYS - 2 do
  local item = redis.call('RPOP', KEYS[i])
  if item and string.sub(ARGV[2], i, i) == '0' then
    return {KEYS[i], item}
  elseif item then
    local ok, message = pcall(cjson.decode, item)
    local props = ok and type(message) == 'table' and message['properties']
    local info = type(props) == 'table' and props['delivery_info']
    if type(info) ~= 'table' or props['delivery_tag'] == nil then
      return {KEYS[i], item}  -- no message: not recorded; the worker sets it aside
    end
    local tag = props['delivery_tag']
    redis.call('ZADD', index, ARGV[1], tag)
    redis.call('HSET', unacked, tag, '[' .. item .. ',' .. cjson.encode(info['exchange'])
      .. ',' .. cjson.encode(info['routing_key']) .. ']')
    return {KEYS[i], item}
  end
end
return false
"""


class QoS(kombu_redis.QoS):
    """kombu's ack emulation, with deliveries recorded by FETCH and acknowledgements batched."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.recorded: set[str] = set()  # tags FETCH already put in the unacked index
        self.unrecorded: set[str] = set()  # at-most-once tags: never in the unacked index
        self.pending: list[str] = []  # tags acknowledged, not yet removed from Redis
        self.pending_done: list[str] = []  # ids of succeeded tasks, markers not yet written
        self._flush_due = False
        # What a lost connection's channel could not send goes with this one's first fetch.
        self.give_back(*take_undelivered())

    def append(self, message: Any, delivery_tag: str) -> None:
        queue = (message.delivery_info or {}).get("routing_key")
        if queue in self.channel.at_most_once_queues:
            self.unrecorded.add(delivery_tag)  # fetched by a script or BRPOP: gone from Redis
        if delivery_tag in self.recorded or delivery_tag in self.unrecorded:
            self.recorded.discard(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)  # type: ignore[no-untyped-call]
        else:
            super().append(message, delivery_tag)  # type: ignore[no-untyped-call]

    def ack(self, delivery_tag: str) -> None:
        virtual.QoS.ack(self, delivery_tag)  # type: ignore[no-untyped-call]
        done = SUCCEEDED.pop(delivery_tag, None)
        if delivery_tag in self.unrecorded:
            self.unrecorded.discard(delivery_tag)
            return
        if self.channel.closed:
            # A task that ended after its connection was lost (Celery cancels a running task
            # then, but one its pool child had not yet reported started runs on): the channel
            # of the next connection sends this, or the message would run again.
            UNDELIVERED[0].append(delivery_tag)
            UNDELIVERED[1].extend([done] if done else [])
            return
        loop = getattr(self.channel.connection, "air_loop", None)
        if loop is None or threading.current_thread() is not threading.main_thread():
            # No event loop (a plain kombu consumer), or a pool thread (the loop's timers are
            # not thread-safe): acknowledge at once, as kombu does.
            self._remove([delivery_tag], [done] if done else [])
            return
        self.pending.append(delivery_tag)
        if done:
            self.pending_done.append(done)
        if not self._flush_due:
            self._flush_due = True
            loop.call_later(ACK_DELAY, self._flush_later)

    def take_pending(self) -> tuple[list[str], list[str]]:
        """(delivery tags, ids of succeeded tasks) to send, and forget them here; with them,
        what closed channels left undelivered since this one opened."""
        if UNDELIVERED[0] or UNDELIVERED[1]:
            self.give_back(*take_undelivered())
        taken = self.pending, self.pending_done
        self.pending, self.pending_done = [], []
        return taken

    def give_back(self, tags: list[str], done: list[str]) -> None:
        """Acknowledgements a failed fetch did not deliver: send them with the next one."""
        self.pending[:0] = tags
        self.pending_done[:0] = done

    def keep_undelivered(self) -> None:
        """The connection is lost: keep what is pending for the channel that replaces this."""
        tags, done = self.take_pending()
        UNDELIVERED[0].extend(tags)
        UNDELIVERED[1].extend(done)

    def _flush_later(self) -> None:
        self._flush_due = False
        self.flush()

    def flush(self) -> None:
        """Remove every pending acknowledgement from the unacked index, in one round trip."""
        tags, done = self.take_pending()
        if not tags and not done:
            return
        try:
            self._remove(tags, done)
        except Exception:
            self.give_back(tags, done)
            raise

    def _remove(self, tags: list[str], done: list[str]) -> None:
        with self.channel.conn_or_acquire() as client:
            pipe = client.pipeline(transaction=False)
            if tags:
                pipe.zrem(self.unacked_index_key, *tags).hdel(self.unacked_key, *tags)
            for task_id in done:
                pipe.set(DONE.format(task_id), 1, ex=int(done_ttl(self.channel)))
            pipe.execute()


def take_undelivered() -> tuple[list[str], list[str]]:
    taken = list(UNDELIVERED[0]), list(UNDELIVERED[1])
    UNDELIVERED[0].clear()
    UNDELIVERED[1].clear()
    return taken


def done_ttl(channel: Any) -> float:
    return float(channel.visibility_timeout) + DONE_BEYOND_VISIBILITY


def fetch_args(
    channel: Any, keys: list[str], record: str, acks: tuple[list[str], list[str]]
) -> list[Any]:
    """The EVALSHA arguments after the script's SHA: key count, keys, then ARGV."""
    tags, done = acks
    return [
        len(keys) + 2,
        *keys,
        channel.unacked_key,
        channel.unacked_index_key,
        time(),
        record,
        len(tags),
        int(done_ttl(channel)),
        *tags,
        *done,
    ]
