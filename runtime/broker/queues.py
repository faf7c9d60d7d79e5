"""How deep and how old each queue is, read from the ends of its priority lists, never by
scanning: kombu's Redis transport keeps one list per priority step, pushes on the left and
pops on the right, so a list's rightmost message is its oldest."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.compiler.compile import PRIORITY_STEPS
from runtime.config.units import PRIORITY_MAX

SENT_AT = "air_sent_at"  # message header: epoch seconds at publish (runtime/celeryapp/stamp.py)
SEPARATOR = "\x06\x16"  # kombu's Redis transport: queue name + separator + priority step


def list_key(queue: str, step: int) -> str:
    """The Redis list kombu keeps for `queue` at Redis priority `step` (0 is the base list)."""
    return f"{queue}{SEPARATOR}{step}" if step else queue


def list_keys(queue: str, steps: Sequence[int] = PRIORITY_STEPS) -> list[str]:
    return [list_key(queue, step) for step in steps]


@dataclass(frozen=True, slots=True)
class QueueDepth:
    name: str
    by_priority: dict[int, int]  # air priority (10 most urgent) -> waiting messages
    oldest_sent_at: float | None  # the oldest stamped message at a list's end, if any
    unstamped: bool  # some list ends in a message without a send stamp: its age is unknown

    @property
    def depth(self) -> int:
        return sum(self.by_priority.values())

    def oldest_age(self, now: float | None = None) -> float | None:
        if self.oldest_sent_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.oldest_sent_at)


def read_queues(
    client: Any, queues: Iterable[str], steps: Sequence[int] = PRIORITY_STEPS
) -> list[QueueDepth]:
    """Depth by priority and oldest send time of each queue, in one round trip."""
    names = list(queues)
    pipe = client.pipeline(transaction=False)
    for name in names:
        for key in list_keys(name, steps):
            pipe.llen(key)
            pipe.lindex(key, -1)
    replies = iter(pipe.execute())
    found = []
    for name in names:
        by_priority: dict[int, int] = {}
        oldest: float | None = None
        unstamped = False
        for step in steps:
            length, tail = int(next(replies) or 0), next(replies)
            if not length:
                continue
            by_priority[PRIORITY_MAX - step] = length
            sent = sent_at(tail)
            if sent is None:
                unstamped = True
            elif oldest is None or sent < oldest:
                oldest = sent
        found.append(QueueDepth(name, by_priority, oldest, unstamped))
    return found


def sent_at(raw: bytes | str | None) -> float | None:
    """The send stamp of a raw kombu message, or None (no stamp, or not a kombu message)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)["headers"][SENT_AT]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None
