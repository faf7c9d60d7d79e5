"""The no-op task for Dramatiq, the at-least-once peer of bench/throughput.py (never used by air).

`dramatiq bench.peers.dramatiq_tasks -p 2 -t 8 -Q bench` runs it from the repository root, on the
private redis-server in BENCH_BROKER_URL. Dramatiq's Redis broker acknowledges a message after
it ran (at-least-once): the same guarantee as air's acks late.
"""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

QUEUE = "bench"

dramatiq.set_broker(RedisBroker(url=os.environ["BENCH_BROKER_URL"]))


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def noop() -> None:
    """Does nothing, as bench.noop."""


def send_many(count: int) -> None:
    """Queue `count` no-op messages with Dramatiq's own enqueue."""
    for _ in range(count):
        noop.send()


def remaining_key() -> str:
    """Dramatiq keeps every message of a queue in this hash until it is acknowledged."""
    return f"dramatiq:{QUEUE}.msgs"
