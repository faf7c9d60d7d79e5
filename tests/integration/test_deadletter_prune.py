"""DeadLetterStore.prune: letters older than a retention go, newer ones stay (real Redis)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from runtime.broker.deadletter import DeadLetter, DeadLetterStore


@pytest.fixture
def letters(redis_client: redis.Redis) -> DeadLetterStore:
    return DeadLetterStore(redis_client)


def add(letters: DeadLetterStore, task_id: str, at: float) -> None:
    letters.add(DeadLetter(id=task_id, task="t.one", reason="failed", failed_at=at))


def test_prune_removes_only_letters_older_than_the_retention(letters: DeadLetterStore) -> None:
    for task_id, at in (("a", 1000.0), ("b", 2000.0), ("c", 2500.0), ("d", 3000.0)):
        add(letters, task_id, at)

    assert letters.prune(timedelta(seconds=1500), now=4000.0) == 2

    assert [letter.id for letter in letters.list()] == ["d", "c"]  # c is exactly at the cutoff
    assert letters.get("a") is None and letters.get("b") is None
    assert letters.prune(timedelta(seconds=1500), now=4000.0) == 0


def test_prune_works_through_more_letters_than_one_batch(
    letters: DeadLetterStore, redis_client: redis.Redis
) -> None:
    for n in range(7):
        add(letters, f"old-{n}", 100.0 + n)
    add(letters, "new", 10_000.0)

    assert letters.prune(timedelta(seconds=60), now=10_000.0, batch=3) == 7

    assert letters.count() == 1
    assert sorted(redis_client.keys("air:dead:*")) == [b"air:dead:new"]


def test_prune_of_an_empty_store_is_zero(letters: DeadLetterStore) -> None:
    assert letters.prune(timedelta(days=30)) == 0
