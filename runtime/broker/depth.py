"""How many messages wait in a queue: every priority list kombu's Redis transport keeps for it."""

from __future__ import annotations

from collections.abc import Sequence

import redis
from kombu.transport.redis import Channel

from runtime.compiler.compile import PRIORITY_STEPS


def priority_lists(queue: str) -> list[str]:
    """The Redis lists of one queue, as kombu names them (Channel._q_for_pri): the queue's own
    name for step 0, `queue + sep + step` for the others."""
    return [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]


def waiting(client: redis.Redis, queues: Sequence[str]) -> dict[str, int]:
    """Messages waiting (not yet reserved by a worker) in each queue, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for name in priority_lists(queue):
            pipe.llen(name)
    lengths = iter(pipe.execute())
    return {queue: sum(int(next(lengths)) for _ in PRIORITY_STEPS) for queue in queues}
