"""DeadLetterStore.count_by_task: a per-task counter kept with every add, removal, prune and
trim, so the exporter counts letters without reading them (real Redis)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from runtime.broker import deadletter
from runtime.broker.deadletter import BY_TASK, DeadLetter, DeadLetterStore


@pytest.fixture
def store(redis_client: redis.Redis) -> DeadLetterStore:
    return DeadLetterStore(redis_client)


def letter(task_id: str, task: str, at: float = 1000.0) -> DeadLetter:
    return DeadLetter(id=task_id, task=task, reason="failed", failed_at=at)


def test_counts_follow_adds_and_removals(store: DeadLetterStore) -> None:
    for n in range(3):
        store.add(letter(f"a{n}", "t.one"))
    store.add(letter("b0", "t.two"))
    store.add(letter("a0", "t.one", at=2000.0))  # the same task id again replaces, not adds
    assert store.count_by_task() == {"t.one": 3, "t.two": 1}
    assert store.remove("a1")
    assert not store.remove("a1")  # a second removal finds nothing and uncounts nothing
    assert store.count_by_task() == {"t.one": 2, "t.two": 1}


def test_counts_follow_prune_and_purge(store: DeadLetterStore) -> None:
    store.add(letter("old", "t.one", at=1000.0))
    store.add(letter("new", "t.one", at=5000.0))
    store.add(letter("other", "t.two", at=1000.0))
    assert store.prune(timedelta(seconds=1000), now=5500.0) == 2
    assert store.count_by_task() == {"t.one": 1}  # a task with none left is not listed
    store.purge("t.one")
    assert store.count_by_task() == {}


def test_counts_follow_the_trim_at_the_limit(
    store: DeadLetterStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadletter, "LIMIT", 3)
    for n in range(5):
        store.add(letter(f"x{n}", "t.one" if n < 2 else "t.two", at=1000.0 + n))
    assert store.count() == 3
    assert store.count_by_task() == {"t.two": 3}


def test_a_store_older_than_the_counter_is_counted_once(
    store: DeadLetterStore, redis_client: redis.Redis
) -> None:
    store.add(letter("a", "t.one"))
    store.add(letter("b", "t.two"))
    redis_client.delete(BY_TASK)  # as written before the counter existed
    assert store.count_by_task() == {"t.one": 1, "t.two": 1}
    assert redis_client.hgetall(BY_TASK) == {b"t.one": b"1", b"t.two": b"1"}
