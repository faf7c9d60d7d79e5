"""The dead-letter store: every task that ended without success, kept in Redis for inspection
and replay. Nothing is dropped silently: failures after the last retry, hard time-outs, lost
workers past their retry limit, expired messages and messages for unknown tasks all land here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import redis

from runtime.broker.clients import client_for
from runtime.broker.redis_values import text

INDEX = "air:dead"  # sorted set: task id -> time of failure
ENTRY = "air:dead:{}"  # JSON document per task id
# hash: task name -> letters held, so a count never reads them; outside air:dead:, the entries
BY_TASK = "air:dead_by_task"
LIMIT = 100_000  # oldest entries beyond this are trimmed, so a failure storm cannot fill Redis
# Bytes found on a queue that are no message at all: kept (newest first, at most LIMIT) so
# nothing vanishes silently; they have no task or arguments to replay.
UNDECODABLE = "air:dead:undecodable"

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
    def from_url(cls, url: str, options: Mapping[str, Any] | None = None) -> DeadLetterStore:
        """The store in the Redis at `url` (`options`: its transport options, for Sentinel)."""
        return cls(client_for(url, options, timeout=10, connect_timeout=5))

    def add(self, letter: DeadLetter) -> None:
        """Record a dead letter; recording the same task id again replaces the entry."""
        if not letter.failed_at:
            letter = DeadLetter(**{**asdict(letter), "failed_at": time.time()})
        with self.client.pipeline() as pipe:
            pipe.set(ENTRY.format(letter.id), letter.to_json())
            pipe.zadd(INDEX, {letter.id: letter.failed_at})
            pipe.zrange(INDEX, 0, -LIMIT - 1)
            pipe.zremrangebyrank(INDEX, 0, -LIMIT - 1)
            _, added, trimmed, _ = pipe.execute()
        if added:  # a replaced entry is the same task again: already counted
            self.client.hincrby(BY_TASK, letter.task, 1)
        if trimmed:  # the documents of the trimmed entries go too, or they would pile up
            self._delete_entries([text(i) for i in trimmed])

    def count(self) -> int:
        return int(self.client.zcard(INDEX))

    def undecodable(self, limit: int = 50) -> list[dict[str, Any]]:
        """What workers found on a queue that was no message: {queue, at, raw}, newest first."""
        return [json.loads(raw) for raw in self.client.lrange(UNDECODABLE, 0, limit - 1)]

    def count_by_task(self) -> dict[str, int]:
        """Letters held per task name, from the counter hash: no letter is read. A store
        written before the counter existed is counted once, by one pass over it."""
        counts = {text(k): int(v) for k, v in self.client.hgetall(BY_TASK).items()}
        if not counts and self.count():
            for letter in self._iter_newest():
                counts[letter.task] = counts.get(letter.task, 0) + 1
            self.client.hset(BY_TASK, mapping=counts)  # type: ignore[arg-type]
        return counts

    def _delete_entries(self, ids: list[str]) -> int:
        """Delete these entries' documents and index members, and uncount them; returns how
        many documents existed. Reading a document before deleting it tells whose count drops."""
        if not ids:
            return 0
        keys = [ENTRY.format(i) for i in ids]
        with self.client.pipeline() as pipe:  # MULTI: one caller alone deletes each document
            pipe.mget(keys)
            pipe.delete(*keys)
            pipe.zrem(INDEX, *ids)
            raws, deleted, _ = pipe.execute()
        for raw in raws:
            if raw is not None:
                task = DeadLetter.from_json(raw).task
                if self.client.hincrby(BY_TASK, task, -1) <= 0:  # no task's zero is kept
                    self.client.hdel(BY_TASK, task)
        return int(deleted)

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
        return bool(self._delete_entries([task_id]))

    def prune(self, older_than: timedelta, *, now: float | None = None, batch: int = 500) -> int:
        """Remove the letters that failed more than `older_than` before `now`; returns how many.

        The index is sorted by failure time, so this reads only what it removes.
        """
        cutoff = (time.time() if now is None else now) - older_than.total_seconds()
        removed = 0
        while ids := self.client.zrangebyscore(INDEX, "-inf", f"({cutoff}", start=0, num=batch):
            removed += self._delete_entries([text(i) for i in ids])
        return removed

    def purge(self, task: str | None = None) -> int:
        ids = [letter.id for letter in self._iter_newest() if task is None or letter.task == task]
        for task_id in ids:
            self.remove(task_id)
        return len(ids)
