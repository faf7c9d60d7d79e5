"""How a pool compiles into worker processes: count, slots, execution pool, node names."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.compiler import workers
from runtime.compiler.workers import machine_cores, process_count, worker_plan
from runtime.config.errors import UsageError
from runtime.config.model import Autoscale, Origin, Pool, Replicas

POOL = Pool(
    name="p",
    queues=("q",),
    concurrency=4,
    max_tasks_per_child=None,
    max_memory_per_child=None,
    prefetch_multiplier=1,
    pool=None,
    processes=None,
    autoscale=None,
    task_events=True,
    replicas=Replicas(min=1, max=1),
    origin=Origin("queues.yaml", "/pools/p"),
)


@pytest.mark.parametrize(
    ("concurrency", "cores", "expected"),
    [(4, 2, 2), (4, 8, 4), (2, 2, 2), (1, 8, 1), (3, 2, 1), (6, 4, 3), (5, 1, 1)],
)
def test_one_process_per_core_splitting_the_slots_evenly(
    concurrency: int, cores: int, expected: int
) -> None:
    assert process_count(replace(POOL, concurrency=concurrency), cores) == expected


def test_processes_as_set_and_one_for_autoscale() -> None:
    assert process_count(replace(POOL, processes=4), cores=1) == 4
    assert process_count(replace(POOL, autoscale=Autoscale(min=1, max=4)), cores=8) == 1


def test_one_slot_runs_solo_more_run_prefork_and_a_set_pool_wins() -> None:
    solo = worker_plan(replace(POOL, concurrency=2), {"q": 5}, cores=2)
    assert (solo.processes, solo.options["concurrency"], solo.options["pool"]) == (2, 1, "solo")
    assert solo.hostnames == ("p.1@%h", "p.2@%h") and solo.options["hostname"] == "p.%i@%h"

    prefork = worker_plan(POOL, {"q": 5}, cores=2)
    assert (prefork.processes, prefork.options["concurrency"]) == (2, 2)
    assert prefork.options["pool"] == "prefork" and prefork.concurrency == 4

    threads = worker_plan(replace(POOL, pool="threads", concurrency=2), {"q": 5}, cores=2)
    assert threads.options["pool"] == "threads"

    single = worker_plan(replace(POOL, concurrency=1), {"q": 5}, cores=2)
    assert single.hostnames == ("p@%h",) and "--hostname" in single.argv



# --- the cores a default process count is planned for ------------------------------------------
# `machine_cores` is the real function, imported before tests/unit/conftest.py pins it to 2.


def test_air_cores_plans_for_that_many_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIR_CORES", "6")
    assert machine_cores() == 6


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_air_cores_that_is_no_count_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AIR_CORES", value)
    with pytest.raises(UsageError, match="AIR_CORES"):
        machine_cores()


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("50000 100000\n", 1), ("max 100000\n", None), ("garbage", None)],
)
def test_a_container_cpu_quota_caps_the_cores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpu_max: str, expected: int | None
) -> None:
    monkeypatch.delenv("AIR_CORES", raising=False)
    (tmp_path / "cpu.max").write_text(cpu_max)
    monkeypatch.setattr(workers, "CPU_MAX", str(tmp_path / "cpu.max"))
    assert machine_cores() == (expected or len(os.sched_getaffinity(0)))
