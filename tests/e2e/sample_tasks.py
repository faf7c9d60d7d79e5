"""Tasks the end-to-end tests run in real workers. Each records what happened in Redis
(the broker's database), so tests observe real worker behaviour from outside."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import redis
from celery import current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded


def _redis() -> redis.Redis:
    # A test whose broker fails over records events in a Redis of its own that stays up.
    return redis.Redis.from_url(
        os.environ.get("AIR_TEST_EVENTS_URL") or current_app.conf.broker_url
    )


def _log(key: str, **event: Any) -> None:
    _redis().rpush(key, json.dumps({"at": time.time(), "pid": os.getpid(), **event}))


class Flaky(Exception):
    """Raised by sample.flaky while it should still fail."""


@shared_task(name="sample.echo", bind=True)
def echo(self: Any, value: Any = None) -> dict[str, Any]:
    queue = (self.request.delivery_info or {}).get("routing_key")
    _log("events:echo", value=value, queue=queue, worker=self.request.hostname)
    return {"value": value, "queue": queue, "worker": self.request.hostname}


@shared_task(name="sample.record", bind=True)
def record(self: Any, tag: str, sleep: float = 0.0) -> str:
    """Record the start order of tasks (priority tests)."""
    _log("events:record", tag=tag, priority=(self.request.delivery_info or {}).get("priority"))
    time.sleep(sleep)
    return tag


@shared_task(name="sample.flaky", bind=True)
def flaky(self: Any, key: str, failures: int) -> int:
    """Fail `failures` times, then succeed; each attempt is logged with its retry count."""
    _log(f"events:{key}", retries=self.request.retries)
    if self.request.retries < failures:
        raise Flaky(f"attempt {self.request.retries + 1} fails on purpose")
    return self.request.retries


@shared_task(name="sample.always_fails", bind=True)
def always_fails(self: Any, key: str) -> None:
    _log(f"events:{key}", retries=self.request.retries)
    raise Flaky("fails every time")


@shared_task(name="sample.soft_limited", bind=True)
def soft_limited(self: Any, key: str, seconds: float) -> str:
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        _log(f"events:{key}", soft_limit=True)
        return "cleaned up after the soft limit"
    return "finished"


@shared_task(name="sample.hang", bind=True)
def hang(self: Any, key: str, seconds: float) -> str:
    _log(f"events:{key}", started=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # ignores the soft limit: only the hard one stops it
        try:
            time.sleep(0.05)
        except SoftTimeLimitExceeded:
            continue
    return "not killed"


@shared_task(name="sample.die_once", bind=True)
def die_once(self: Any, key: str, seconds: float = 0.0) -> int:
    """The first attempt kills its own worker process with SIGKILL; a later one completes."""
    client = _redis()
    attempt = client.incr(f"attempts:{key}")
    _log(f"events:{key}", attempt=attempt, retries=self.request.retries)
    if attempt == 1:
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGKILL)
    return int(attempt)


@shared_task(name="sample.slow", bind=True)
def slow(self: Any, key: str, seconds: float) -> str:
    """Runs long enough for a test to kill the whole worker under it."""
    attempt = _redis().incr(f"attempts:{key}")
    _log(f"events:{key}", attempt=attempt, worker=self.request.hostname)
    time.sleep(seconds)
    _log(f"events:{key}", done=attempt)
    return f"done on attempt {attempt}"


@shared_task(name="sample.step", bind=True)
def step(self: Any, previous: Any = None, tag: str = "", seconds: float = 0.0) -> str:
    """A workflow step: logs what it received and when it ran; returns its tag."""
    started = time.time()
    time.sleep(seconds)
    _log("events:steps", tag=tag, previous=previous, started=started, pid=os.getpid())
    return tag


@shared_task(name="sample.fail_first", bind=True)
def fail_first(self: Any, previous: Any = None, key: str = "") -> str:
    """Fails on its first attempt (counted in Redis across sends), succeeds after."""
    attempt = _redis().incr(f"attempts:{key}")
    _log(f"events:{key}", attempt=attempt, previous=previous)
    if attempt == 1:
        raise Flaky("the first attempt fails on purpose")
    return f"{key} on attempt {attempt}"


@shared_task(name="sample.work", bind=True)
def work(self: Any, tag: str, seconds: float = 0.2) -> str:
    """A unit of work for the chaos tests: logs its start and its end under `events:work`."""
    _log("events:work", tag=tag, started=True, pid=os.getpid())
    time.sleep(seconds)
    _log("events:work", tag=tag, done=True, pid=os.getpid())
    return tag


@shared_task(name="sample.die_always", bind=True)
def die_always(self: Any, key: str) -> None:
    """A poison task: kills its worker process on every attempt."""
    _log(f"events:{key}", retries=self.request.retries)
    os.kill(os.getpid(), signal.SIGKILL)


@shared_task(name="sample.counted", bind=True)
def counted(self: Any, path: str, seconds: float = 0.0) -> str:
    """Counts its runs in a file, which needs no Redis: a test can stop Redis under it."""
    with open(path, "a") as runs:
        runs.write(f"{self.request.id}\n")
    time.sleep(seconds)
    return "counted"
