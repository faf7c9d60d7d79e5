"""The Tally counts worker heartbeats and task events into pools, totals, histograms and
per-queue flow; a manual clock stands in for time, so windows and expiry are exact."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.compiler.workers import pool_of
from runtime.process.tally import BUCKETS, Histogram, Tally, percentile


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tally(clock: Clock) -> Tally:
    return Tally(route=lambda task: "default", clock=clock)


def heartbeat(hostname: str, **fields: Any) -> dict[str, Any]:
    return {"type": "worker-heartbeat", "hostname": hostname, "freq": 2.0, **fields}


def task(kind: str, uuid: str, **fields: Any) -> dict[str, Any]:
    return {"type": f"task-{kind}", "uuid": uuid, "hostname": "default@h1", **fields}


def test_pool_of_reads_the_node_name() -> None:
    assert pool_of("ai-tasks@host.example") == "ai-tasks"
    assert pool_of("celery") is None
    assert pool_of("@host") is None


def test_pools_count_live_workers_and_their_processes(tally: Tally, clock: Clock) -> None:
    tally.event(heartbeat("default@h1", active=1, air_processes=4))
    tally.event(heartbeat("default@h2", active=2))  # a plain worker: the YAML's concurrency
    tally.event(heartbeat("stray@h1", air_processes=1))
    pools = tally.pools({"default": 3, "bulk": 1})
    assert pools["default"].workers == ("default@h1", "default@h2")
    assert (pools["default"].processes, pools["default"].busy) == (7, 3)
    assert pools["bulk"].workers == () and pools["bulk"].processes == 0
    assert pools["stray"].processes == 1  # undeclared, still shown
    clock.now += 2.0 * 2.5 + 0.1  # past 2.5 heartbeat intervals: gone
    tally.event(heartbeat("default@h2"))
    assert tally.pools({"default": 3})["default"].workers == ("default@h2",)
    tally.event({"type": "worker-offline", "hostname": "default@h2"})
    assert tally.pools({"default": 3})["default"].workers == ()


def test_task_totals_runtime_and_wait(tally: Tally) -> None:
    tally.event(task("received", "1", name="a.one"))
    tally.event(task("started", "1", air_queue="default", air_wait=0.2))
    tally.event(task("succeeded", "1", runtime=0.03))  # the name comes from task-received
    tally.event(task("started", "2", air_task="a.two", air_queue="fast"))
    tally.event(task("failed", "2", air_task="a.two", air_queue="fast"))
    tally.event(task("retried", "3", air_task="a.two"))
    tally.event(task("rejected", "4", air_task="a.two"))
    totals, runtimes, waits = tally.snapshot_totals()
    assert totals == {
        ("a.one", "succeeded"): 1,
        ("a.two", "failed"): 1,
        ("a.two", "retried"): 1,
        ("a.two", "rejected"): 1,
    }
    assert runtimes["a.one"].count == 1 and runtimes["a.one"].total == pytest.approx(0.03)
    assert set(waits) == {"default"} and waits["default"].count == 1


def test_queue_flow_over_its_windows(tally: Tally, clock: Clock) -> None:
    for n in range(5):
        tally.event(task("started", str(n), air_task="a", air_queue="default", air_wait=n / 10))
    for n in range(3):
        tally.event(task("succeeded", str(n), air_task="a", air_queue="default"))
    tally.event(task("failed", "3", air_task="a", air_queue="default"))
    flow = tally.flows(["default", "idle"])
    assert flow["default"].rate == pytest.approx(4 / 10)
    assert (flow["default"].running, flow["default"].failed) == (1, 1)
    assert flow["default"].wait_p50 == pytest.approx(0.2)
    assert flow["default"].wait_p99 == pytest.approx(0.4)
    assert flow["idle"].rate == 0 and flow["idle"].wait_p50 is None
    clock.now += 61  # both windows slide past: rates and percentiles reset, failures stay
    flow = tally.flows(["default"])
    assert (flow["default"].rate, flow["default"].wait_p99, flow["default"].failed) == (0, None, 1)


def test_running_tasks_of_a_lost_worker_are_forgotten(tally: Tally, clock: Clock) -> None:
    tally.event(heartbeat("default@h1"))
    tally.event(task("started", "1", air_task="a", air_queue="default"))
    assert tally.flows(["default"])["default"].running == 1
    clock.now += 10
    tally.live_workers()
    assert tally.flows(["default"])["default"].running == 0


def test_histogram_buckets_are_cumulative_and_end_in_inf() -> None:
    histogram = Histogram()
    for value in (0.001, 0.3, 0.3, 7200.0):
        histogram.observe(value)
    buckets = dict(histogram.cumulative())
    assert buckets[repr(BUCKETS[0])] == 1
    assert buckets["0.5"] == 3 and buckets["3600.0"] == 3 and buckets["+Inf"] == 4
    assert histogram.total == pytest.approx(7200.601)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
