"""The wait a worker adds to task-started: send stamp to start, never negative, and none when
the message came without a stamp (a plain Celery client)."""

from __future__ import annotations

import pytest

from runtime.celeryapp.heart import processes
from runtime.celeryapp.request import task_wait


def test_wait_is_start_minus_send() -> None:
    assert task_wait(100.0, 100.25) == pytest.approx(0.25)
    assert task_wait(100, 101.0) == pytest.approx(1.0)


def test_a_clock_behind_the_sender_gives_zero_not_a_negative_wait() -> None:
    assert task_wait(100.0, 99.5) == 0.0


@pytest.mark.parametrize("stamp", [None, "100.0", True, {"at": 1}])
def test_no_usable_stamp_no_wait(stamp: object) -> None:
    assert task_wait(stamp, 100.0) is None


def test_no_start_time_no_wait() -> None:
    assert task_wait(100.0, None) is None


def test_heartbeat_pool_size_reads_the_pool_or_says_nothing() -> None:
    class Pool:
        num_processes = 3

    assert processes(Pool()) == 3
    assert processes(None) is None
