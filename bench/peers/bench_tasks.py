"""The tasks the worker benchmarks run, in air's workers and plain Celery's alike.

Importable as `bench.peers.bench_tasks` from the repository root (bench/ has no __init__.py: Python
imports it as a namespace package). Both apps register these through `shared_task`, so the
task code is byte for byte the same on both sides of every comparison.

Timestamps are `time.time()` taken first thing in the task body: the benchmarks run sender,
broker and workers on one machine, so the sender's clock and the task's agree.
"""

from __future__ import annotations

import json
import os
import time

import redis
from celery import current_app, shared_task

STARTS = "bench:starts"  # list of JSON records, one per started `bench.urgent` / `bench.mark`

_clients: dict[tuple[int, str], redis.Redis] = {}


def _redis() -> redis.Redis:
    """One client per process and broker (prefork children each open their own)."""
    key = (os.getpid(), current_app.conf.broker_url)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(key[1])
    return _clients[key]


def _record_start(tag: str, sent: float) -> None:
    start = time.time()
    record = {"tag": tag, "sent": sent, "start": start, "pid": os.getpid()}
    _redis().rpush(STARTS, json.dumps(record))


@shared_task(name="bench.noop")
def noop() -> None:
    """Does nothing: the throughput benchmark measures the platform alone."""


@shared_task(name="bench.low")
def low(seconds: float = 0.001) -> None:
    """The backlog of the priority benchmark: 1 ms of work, nothing recorded."""
    time.sleep(seconds)


@shared_task(name="bench.urgent")
def urgent(tag: str, sent: float, seconds: float = 0.001) -> None:
    """Records when it started (and when it was sent), then does the same 1 ms of work."""
    _record_start(tag, sent)
    time.sleep(seconds)


@shared_task(name="bench.mark")
def mark(tag: str, sent: float) -> None:
    """The start-up benchmark's first task: records when it started."""
    _record_start(tag, sent)
