"""Health checks and drift flags judged from a Snapshot: which checks fail, what they name, and
how much they measured (the e2e tests run the same code against real workers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.broker.queues import QueueDepth
from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from runtime.process.health import evaluate
from runtime.process.observe import Beat, Snapshot, Worker
from runtime.process.status import drift, next_fire
from tests.unit.conftest import WriteConfig

QUEUES = """\
version: 1
defaults:
  time_limit: {soft: 1m, hard: 2m}
queues:
  urgent: {priority: 10, slo: {max_wait: 30s, max_depth: 5}}
  default: {priority: 5}
pools:
  urgent: {queues: [urgent], concurrency: 2}
  default: {queues: [default], concurrency: 1}
tasks:
  a.task: {}
"""
SCHEDULES = """\
version: 1
schedules:
  hourly: {task: a.task, every: 1h}
  nightly: {task: a.task, cron: "0 3 * * *"}
"""
NOW = 1_800_000_000.0


@pytest.fixture
def plan(write_config: WriteConfig) -> Plan:
    loaded, _ = load_plan(write_config(QUEUES, SCHEDULES), env={})
    return loaded


def worker(plan: Plan, like: str, **changes: object) -> Worker:
    """A worker exactly as pool `like` declares it, but for `changes`."""
    declared = plan.workers[like]
    fields: dict[str, object] = {
        "node": f"{like}@h1",
        "pool": like,
        "config_checksum": plan.config_checksum,
        # One node per process of the pool, each with its share of the slots.
        "concurrency": declared.concurrency // declared.processes,
        "processes": declared.concurrency // declared.processes,
        "queues": declared.queues,
        "active": 0,
        "reserved": 0,
        "processed": 0,
    }
    fields.update(changes)
    return Worker(**fields)  # type: ignore[arg-type]


def snap(workers: list[Worker], urgent: QueueDepth | None = None, owner: str | None = "h1:1"):
    queues = (
        urgent or QueueDepth("urgent", {}, None, False),
        QueueDepth("default", {}, None, False),
    )
    beats = (owner,) if owner else ()
    return Snapshot(taken_at=NOW, workers=tuple(workers), queues=queues, beat=Beat(beats=beats))


def failing(checks: list) -> set[tuple[str, str, str | None]]:
    return {(c.kind, c.subject, c.what) for c in checks if not c.ok}


def test_all_up_and_within_slo_is_healthy(plan: Plan) -> None:
    checks = evaluate(plan, snap([worker(plan, "urgent"), worker(plan, "default")]), "redis://x")
    assert failing(checks) == set()
    assert [c.kind for c in checks] == ["broker", "pool", "pool", "beat", "queue", "queue", "queue"]


def test_every_failure_is_named_with_how_much(plan: Plan) -> None:
    backlog = QueueDepth("urgent", {10: 4, 5: 3}, NOW - 45.5, False)
    checks = evaluate(plan, snap([worker(plan, "urgent")], backlog, owner=None), "redis://x")
    assert failing(checks) == {
        ("pool", "default", "workers"),
        ("beat", "beat", "lock"),
        ("queue", "urgent", "max_depth"),
        ("queue", "urgent", "max_wait"),
    }
    by_what = {c.what: c for c in checks if not c.ok}
    assert (by_what["max_depth"].value, by_what["max_depth"].limit) == (7, 5)
    assert (by_what["max_wait"].value, by_what["max_wait"].limit) == (45.5, 30.0)
    assert by_what["max_wait"].detail == "7 waiting, oldest 45.5s, max_wait 30s"


def test_unstamped_messages_count_in_depth_but_never_breach_max_wait(plan: Plan) -> None:
    unknown = QueueDepth("urgent", {10: 2}, None, True)
    checks = evaluate(plan, snap([worker(plan, "urgent"), worker(plan, "default")], unknown), "r")
    assert failing(checks) == set()
    assert any("oldest age unknown (unstamped)" in c.detail for c in checks)


def test_drift_flags(plan: Plan) -> None:
    workers = [
        worker(plan, "urgent", queues=("urgent", "default")),
        worker(plan, "urgent", node="urgent@h2", concurrency=4, config_checksum="f" * 64),
        worker(plan, "default", node="celery@h3", pool="celery"),
    ]
    found = {(d.kind, d.subject) for d in drift(plan, snap(workers))}
    assert found == {
        ("no_worker", "default"),
        ("queues", "urgent@h1"),
        ("concurrency", "urgent@h2"),
        ("config", "urgent@h2"),
        ("unknown_pool", "celery@h3"),
    }
    assert drift(plan, snap([worker(plan, "urgent"), worker(plan, "default")])) == []


def test_each_process_of_a_pool_runs_its_share_of_the_slots_and_that_is_no_drift(
    plan: Plan,
) -> None:
    urgent = plan.workers["urgent"]
    assert (urgent.concurrency, urgent.processes) == (2, 2)  # two nodes of one slot each
    nodes = [worker(plan, "urgent", node=f"urgent.{n}@h1", concurrency=1) for n in (1, 2)]
    assert drift(plan, snap([*nodes, worker(plan, "default")])) == []
    (flag,) = drift(plan, snap([worker(plan, "urgent", concurrency=2), worker(plan, "default")]))
    assert flag.kind == "concurrency"
    assert flag.detail.endswith("the config says 1 (each of its 2 processes: 2 slots in all)")


def test_next_fire(plan: Plan) -> None:
    now = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
    hourly, nightly = plan.beat["hourly"], plan.beat["nightly"]
    assert next_fire(hourly, None, now) == datetime(2027, 1, 15, 13, 0, tzinfo=UTC)
    last = datetime(2027, 1, 15, 11, 30, tzinfo=UTC)
    # `every` fires fall on whole multiples of the interval, whenever the last one was sent
    assert next_fire(hourly, last, now) == datetime(2027, 1, 15, 13, 0, tzinfo=UTC)
    assert next_fire(nightly, last, now) == datetime(2027, 1, 16, 3, 0, tzinfo=UTC)


def test_health_of_an_unknown_pool_is_a_usage_error_before_any_broker_traffic() -> None:
    from click.testing import CliRunner

    from cli.main import main
    from tests.conftest import REPO

    # A broker address nothing answers on: the pool name is checked first, so it never matters.
    env = {"AIR_CONFIG_DIR": None, "AIR_BROKER_URL": "redis://127.0.0.1:9/0", "NO_COLOR": "1"}
    with CliRunner(env=env).isolation() as (out, err, _):
        code = main(["--config", str(REPO / "config"), "health", "--pool", "defualt"])
    assert code == 2 and out.getvalue() == b""
    assert err.getvalue().decode().splitlines() == [
        "error: unknown pool 'defualt'",
        "  hint: did you mean 'default'? pools: ai-tasks, data-pipeline, default, high-priority, "
        "low-priority",
    ]
