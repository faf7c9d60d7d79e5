"""The model: defaults inheritance, lenient building, and retry delays."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from textwrap import dedent
from typing import Any

import pytest

from runtime.config import defaults
from runtime.config.model import Config, Origin, RetryPolicy, build
from runtime.config.source import load_bytes
from runtime.config.units import Rate


def model(queues: str, schedules: str = "version: 1\n") -> Config:
    q = load_bytes(dedent(queues), "queues.yaml", {})
    s = load_bytes(dedent(schedules), "schedules.yaml", {})
    assert q.diagnostics == [] and s.diagnostics == []
    return build("queues.yaml", q.data, "schedules.yaml", s.data)


INHERIT = """\
version: 1
defaults:
  queue: work
  acks_late: false
  time_limit: {soft: 5m, hard: 6m}
  retry: {max: 3, backoff: fixed, initial: 5s, errors: [ConnectionError]}
  expires: 1h
queues:
  work: {priority: 5}
  fast: {priority: 9}
pools:
  p: {queues: [work, fast]}
tasks:
  plain: {}
  custom:
    queue: fast
    acks_late: true
    time_limit: {hard: 30s}
    retry: {max: 5, jitter: false}
    rate_limit: 30/m
    priority: 8
    dead_letter: false
"""


def test_task_without_keys_inherits_defaults() -> None:
    task = model(INHERIT).tasks["plain"]
    assert task.queue == "work"
    assert task.acks_late is False
    assert (task.time_limit.soft, task.time_limit.hard) == (
        timedelta(minutes=5),
        timedelta(minutes=6),
    )
    assert task.expires == timedelta(hours=1)
    assert task.retry.max == 3 and task.retry.backoff == "fixed"
    assert task.retry.initial == timedelta(seconds=5)
    assert task.retry.errors == ("ConnectionError",)
    assert task.dead_letter is True and task.priority is None and task.rate_limit is None
    assert task.origins["queue"] == Origin("queues.yaml", "/defaults/queue")


def test_retry_keys_merge_one_by_one() -> None:
    retry = model(INHERIT).tasks["custom"].retry
    assert retry.max == 5  # the task's own
    assert retry.jitter is False  # the task's own
    assert retry.backoff == "fixed"  # from defaults
    assert retry.initial == timedelta(seconds=5)  # from defaults
    assert retry.errors == ("ConnectionError",)  # from defaults
    assert retry.max_delay == timedelta(minutes=10)  # built in (defaults.py)
    assert retry.origins["max"] == Origin("queues.yaml", "/tasks/custom/retry/max")
    assert retry.origins["backoff"] == Origin("queues.yaml", "/defaults/retry/backoff")


def test_time_limit_is_replaced_as_a_whole() -> None:
    limit = model(INHERIT).tasks["custom"].time_limit
    assert limit.hard == timedelta(seconds=30)
    assert limit.soft is None  # not the inherited 5m: that would exceed the new hard limit
    assert limit.origin == Origin("queues.yaml", "/tasks/custom/time_limit")


def test_task_own_keys_win() -> None:
    task = model(INHERIT).tasks["custom"]
    assert (task.queue, task.acks_late, task.priority, task.dead_letter) == ("fast", True, 8, False)
    assert task.rate_limit == Rate(30.0, "m")
    assert task.origins["queue"] == Origin("queues.yaml", "/tasks/custom/queue")


def test_built_in_defaults_without_a_defaults_section() -> None:
    config = model("""\
        version: 1
        queues: {default: {priority: 5}}
        pools: {p: {queues: [default]}}
        tasks: {t: {}}
    """)
    task = config.tasks["t"]
    assert task.queue == defaults.TASK["queue"] == config.default_queue
    assert task.acks_late is defaults.TASK["acks_late"]
    assert task.time_limit.soft is None and task.time_limit.hard is None
    assert task.retry == RetryPolicy(
        max=3,
        backoff="exponential",
        initial=timedelta(seconds=2),
        max_delay=timedelta(minutes=10),
        jitter=True,
        errors=("Exception",),
    )
    pool = config.pools["p"]
    assert (
        pool.concurrency,
        pool.prefetch_multiplier,
        pool.pool,
        pool.autoscale,
        pool.max_tasks_per_child,
        pool.max_memory_per_child,
    ) == (1, 1, None, None, None, None)
    assert config.broker.url == defaults.BROKER["url"]
    assert config.broker.result_backend == config.broker.url
    assert config.broker.visibility_timeout == timedelta(hours=1)
    assert config.imports == defaults.IMPORTS


def test_pool_values_are_parsed() -> None:
    pool = model("""\
        version: 1
        queues: {q: {priority: 5}}
        pools:
          p: {queues: [q], concurrency: 3, max_memory_per_child: 512MiB, pool: threads,
              autoscale: {min: 1, max: 4}}
    """).pools["p"]
    assert pool.max_memory_per_child == 512 * 1024
    assert (pool.concurrency, pool.pool, pool.queues) == (3, "threads", ("q",))
    assert pool.autoscale is not None and (pool.autoscale.min, pool.autoscale.max) == (1, 4)


def test_pool_replicas_default_to_one_and_parse() -> None:
    pools = model("""\
        version: 1
        queues: {q: {priority: 5}}
        pools:
          fixed: {queues: [q]}
          scaled: {queues: [q], replicas: {min: 0, max: 6}}
    """).pools
    assert (pools["fixed"].replicas.min, pools["fixed"].replicas.max) == (1, 1)
    assert (pools["scaled"].replicas.min, pools["scaled"].replicas.max) == (0, 6)


def test_schedules_inherit_the_file_time_zone() -> None:
    config = model(
        INHERIT,
        """\
        version: 1
        timezone: Europe/Berlin
        schedules:
          a: {task: plain, cron: "0 3 * * *", args: [1, two], kwargs: {k: v}}
          b: {task: plain, every: 90, timezone: UTC, overlap: skip, enabled: false}
    """,
    )
    a, b = config.schedules["a"], config.schedules["b"]
    assert (a.timezone, a.cron, a.every, a.args, dict(a.kwargs)) == (
        "Europe/Berlin",
        "0 3 * * *",
        None,
        (1, "two"),
        {"k": "v"},
    )
    assert (a.overlap, a.enabled) == ("allow", True)
    assert (b.timezone, b.every, b.cron, b.overlap, b.enabled) == (
        "UTC",
        timedelta(seconds=90),
        None,
        "skip",
        False,
    )
    assert a.origin == Origin("schedules.yaml", "/schedules/a")


@pytest.mark.parametrize("queues", [None, [], "text", {"queues": "x", "pools": [1], "tasks": 5}])
def test_build_never_raises_on_wrong_shapes(queues: Any) -> None:
    config = build("q.yaml", queues, "s.yaml", ["not", "a", "mapping"])
    assert config.tasks == {} and config.schedules == {}
    assert config.timezone == defaults.TIMEZONE


def test_values_the_schema_rejects_fall_back_to_defaults() -> None:
    q = load_bytes(
        dedent("""\
        version: 1
        broker: {visibility_timeout: soon, url: 5}
        queues: {q: {priority: high}}
        pools: {p: {queues: [q, 3], concurrency: true, max_memory_per_child: lots}}
        tasks:
          t: {acks_late: 1, time_limit: {soft: never, hard: 1m}, retry: {max: "3", initial: x},
              rate_limit: fast, expires: [1]}
    """),
        "queues.yaml",
        {},
    )
    config = build("queues.yaml", q.data, "schedules.yaml", {"version": 1})
    assert config.broker.visibility_timeout == timedelta(hours=1)
    assert config.broker.url == defaults.BROKER["url"]
    assert config.queues["q"].priority == 5
    pool = config.pools["p"]
    assert (pool.queues, pool.concurrency, pool.max_memory_per_child) == (("q",), 1, None)
    task = config.tasks["t"]
    assert task.acks_late is True  # 1 is not a boolean
    assert (task.time_limit.soft, task.time_limit.hard) == (None, timedelta(minutes=1))
    assert task.retry.max == 3 and task.retry.initial == timedelta(seconds=2)
    assert task.rate_limit is None and task.expires is None


def test_models_are_frozen() -> None:
    task = model(INHERIT).tasks["plain"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.queue = "other"  # type: ignore[misc]


# --- retry delays --------------------------------------------------------------------------------


def policy(
    backoff: str = "exponential",
    initial: float = 2,
    max_delay: float = 600,
    jitter: bool = False,
    retries: int = 3,
) -> RetryPolicy:
    return RetryPolicy(
        max=retries,
        backoff=backoff,
        initial=timedelta(seconds=initial),
        max_delay=timedelta(seconds=max_delay),
        jitter=jitter,
        errors=("E",),
    )


@pytest.mark.parametrize(
    "retries, seconds",
    [
        (0, 2),
        (1, 4),
        (2, 8),
        (5, 64),
        (8, 512),
        (9, 600),
        (50, 600),
        (10_000, 600),
    ],
)
def test_exponential_delay_doubles_and_is_capped(retries: int, seconds: float) -> None:
    assert policy().delay(retries) == seconds


def test_fixed_delay_is_constant_and_capped() -> None:
    assert [policy("fixed", initial=30).delay(n) for n in range(4)] == [30, 30, 30, 30]
    assert policy("fixed", initial=900, max_delay=600).delay(0) == 600


def test_no_backoff_means_no_delay() -> None:
    assert policy("none", initial=30, jitter=True).delay(3) == 0


@pytest.mark.parametrize("backoff", ["exponential", "fixed"])
def test_jitter_stays_between_half_and_all_of_the_delay(backoff: str) -> None:
    rng = random.Random(1234)
    jittered = policy(backoff, jitter=True)
    plain = policy(backoff)
    for retries in range(12):
        samples = [jittered.delay(retries, rng) for _ in range(200)]
        full = plain.delay(retries)
        assert all(full / 2 <= s <= full for s in samples)
        assert max(samples) - min(samples) > full / 4  # it really varies


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    jittered = policy(jitter=True)
    assert [jittered.delay(3, random.Random(7)) for _ in range(2)] == [
        jittered.delay(3, random.Random(7))
    ] * 2


@pytest.mark.parametrize(
    "kwargs, worst",
    [
        ({}, 8),  # 2s, 4s, 8s
        ({"retries": 1}, 2),
        ({"retries": 0}, 0),
        ({"retries": 20}, 600),
        ({"retries": 1000}, 600),  # no overflow computing 2s * 2**999
        ({"retries": 1000, "initial": 86400, "max_delay": 10**9}, 10**9),
        ({"backoff": "fixed", "initial": 45}, 45),
        ({"backoff": "fixed", "initial": 900}, 600),
        ({"backoff": "none", "initial": 900}, 0),
        ({"jitter": True}, 8),  # jitter only shortens delays
    ],
)
def test_worst_delay(kwargs: dict[str, Any], worst: float) -> None:
    assert policy(**kwargs).worst_delay() == timedelta(seconds=worst)


def test_worst_delay_bounds_every_delay() -> None:
    for retries in (1, 3, 12, 40):
        p = policy(retries=retries, initial=3, max_delay=1000)
        assert max(p.delay(n) for n in range(retries)) == p.worst_delay().total_seconds()
