"""Plain Celery with its default settings: the baseline of the worker benchmarks.

`celery -A bench.peers.plain_app worker -Q QUEUE -c N` runs it, from the repository root. The
app gets only what a new Celery user writes: the broker and result backend URLs (from
BENCH_BROKER_URL and BENCH_RESULT_BACKEND, set by the benchmark scripts for their private
redis-server) and the JSON serializer (already Celery 5's default). Everything else (priority
steps [0, 3, 6, 9], prefetch multiplier 4, early acks, mingle and gossip on, -O default) is
Celery's default."""

from __future__ import annotations

import json
import os
from typing import Any

from celery import Celery

TASK_MODULE = "bench.peers.bench_tasks"


def make_app(broker_url: str, result_backend: str, **settings: Any) -> Celery:
    """`settings` is empty in every comparison; bench/throughput.py --explain adds air's settings
    one at a time to see which of them costs what."""
    app = Celery("plain", broker=broker_url, backend=result_backend, include=[TASK_MODULE])
    app.conf.task_serializer = "json"
    app.conf.update(settings)
    return app


_app: list[Celery] = []


def __getattr__(name: str) -> Any:
    """`bench.peers.plain_app.app`, built on first use so that importing this module needs no
    environment (and can never fall back to some default broker)."""
    if name in ("app", "celery"):
        if not _app:
            try:
                urls = os.environ["BENCH_BROKER_URL"], os.environ["BENCH_RESULT_BACKEND"]
                settings = json.loads(os.environ.get("BENCH_PLAIN_SETTINGS") or "{}")
                _app.append(make_app(*urls, **settings))
            except KeyError as exc:
                raise RuntimeError(
                    f"bench.peers.plain_app: {exc.args[0]} is not set; the bench/ scripts set it"
                ) from None
        return _app[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
