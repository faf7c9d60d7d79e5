"""The dead-letter store: every task that ended without success, kept in Redis for inspection
and replay. Nothing is dropped silently: failures after the last retry, hard time-outs, lost
workers past their retry limit, expired messages and messages for unknown tasks all land here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import redis

from runtime.broker.redis_values import text

INDEX = "air:dead"  # sorted set: task id -> time of failure
ENTRY = "air:dead:{}"  # JSON document per task id
LIMIT = 100_000  # oldest entries beyond this are trimmed, so a failure storm cannot fill Redis

REASONS = ("failed", "timeout", "worker-lost", "expired", "unknown-task", "rejected")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    id: str
    task: str
    reason: str  # one of REASONS
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    retries: int = 0
    exception: str = ""
    message: str = ""
    traceback: str = ""
    hostname: str = ""
    failed_at: float = 0.0
    # For a step of a declared workflow: {"name", "id", "step"} (step: "2", or "1.0" for the
    # first member of parallel step 1), so a replay resumes the workflow from that step.
    workflow: dict[str, str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=repr)

    @classmethod
    def from_json(cls, text: str | bytes) -> DeadLetter:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class DeadLetterStore:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> DeadLetterStore:
        return cls(redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5))

    def add(self, letter: DeadLetter) -> None:
        """Record a dead letter; recording the same task id again replaces the entry."""
        if not letter.failed_at:
            letter = DeadLetter(**{**asdict(letter), "failed_at": time.time()})
        with self.client.pipeline() as pipe:
            pipe.set(ENTRY.format(letter.id), letter.to_json())
            pipe.zadd(INDEX, {letter.id: letter.failed_at})
            pipe.zrange(INDEX, 0, -LIMIT - 1)
            pipe.zremrangebyrank(INDEX, 0, -LIMIT - 1)
            trimmed = pipe.execute()[2]
        if trimmed:  # the documents of the trimmed entries go too, or they would pile up
            self.client.delete(*(ENTRY.format(text(i)) for i in trimmed))

    def count(self) -> int:
        return int(self.client.zcard(INDEX))

    def get(self, task_id: str) -> DeadLetter | None:
        raw = self.client.get(ENTRY.format(task_id))
        return DeadLetter.from_json(raw) if raw else None

    def list(self, limit: int = 50, task: str | None = None) -> list[DeadLetter]:
        """Newest first; `task` filters by task name."""
        found: list[DeadLetter] = []
        for letter in self._iter_newest():
            if task is None or letter.task == task:
                found.append(letter)
                if len(found) >= limit:
                    break
        return found

    def _iter_newest(self, batch: int = 500) -> Iterator[DeadLetter]:
        start = 0
        while True:
            ids = self.client.zrevrange(INDEX, start, start + batch - 1)
            if not ids:
                return
            raws = self.client.mget([ENTRY.format(text(i)) for i in ids])
            for task_id, raw in zip(ids, raws, strict=True):
                if raw is None:  # trimmed between the two reads
                    self.client.zrem(INDEX, text(task_id))
                    continue
                yield DeadLetter.from_json(raw)
            start += batch

    def remove(self, task_id: str) -> bool:
        with self.client.pipeline() as pipe:
            pipe.delete(ENTRY.format(task_id))
            pipe.zrem(INDEX, task_id)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def prune(self, older_than: timedelta, *, now: float | None = None, batch: int = 500) -> int:
        """Remove the letters that failed more than `older_than` before `now`; returns how many.

        The index is sorted by failure time, so this reads only what it removes.
        """
        cutoff = (time.time() if now is None else now) - older_than.total_seconds()
        removed = 0
        while ids := self.client.zrangebyscore(INDEX, "-inf", f"({cutoff}", start=0, num=batch):
            with self.client.pipeline() as pipe:
                pipe.delete(*(ENTRY.format(text(i)) for i in ids))
                pipe.zrem(INDEX, *ids)
                removed += int(pipe.execute()[1])
        return removed

    def purge(self, task: str | None = None) -> int:
        ids = [letter.id for letter in self._iter_newest() if task is None or letter.task == task]
        for task_id in ids:
            self.remove(task_id)
        return len(ids)
