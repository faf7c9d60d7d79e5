"""The compiled Plan gets Celery/kombu 5.7's traps on Redis right (issue 3): priorities, routes,
annotations, transport options, serializers, worker command lines and beat entries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.compiler.compile import load_plan
from runtime.compiler.plan import Plan
from tests.conftest import REPO

SHIPPED = REPO / "config"
POOLS = ("high-priority", "default", "ai-tasks", "data-pipeline", "low-priority")


@pytest.fixture(scope="module")
def shipped() -> Plan:
    plan, _ = load_plan(SHIPPED, env={})
    return plan


def queues_yaml(**overrides: Any) -> dict[str, Any]:
    """A small valid queues.yaml: three queues, one pool each, a few tasks."""
    config: dict[str, Any] = {
        "version": 1,
        "imports": ["tasks"],
        "broker": {"url": "redis://127.0.0.1:6399/0", "visibility_timeout": "1h"},
        "defaults": {"queue": "default", "retry": {"max": 0}},
        "queues": {"urgent": {"priority": 10}, "default": {"priority": 5}, "bulk": {"priority": 1}},
        "pools": {
            "urgent": {"queues": ["urgent"], "concurrency": 1},
            "default": {"queues": ["default"], "concurrency": 2},
            "bulk": {"queues": ["bulk"], "concurrency": 1},
        },
        "tasks": {"a.urgent": {"queue": "urgent"}, "a.plain": {}, "a.bulk": {"queue": "bulk"}},
    }
    config.update(overrides)
    return config


def compile_dir(
    directory: Path, queues: dict[str, Any], schedules: dict[str, Any] | None = None
) -> Plan:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "queues.yaml").write_text(yaml.safe_dump(queues, sort_keys=False))
    (directory / "schedules.yaml").write_text(
        yaml.safe_dump(schedules or {"version": 1, "schedules": {}}, sort_keys=False)
    )
    plan, _ = load_plan(directory, env={})
    return plan


def flag(argv: tuple[str, ...], name: str) -> str:
    assert argv.count(name) == 1, f"{name} appears {argv.count(name)} times in {argv}"
    return argv[argv.index(name) + 1]


# --- priority ------------------------------------------------------------------------------------

SHIPPED_BROKER_PRIORITY = {
    "high_priority": 0,
    "ai_tasks": 3,
    "default": 5,
    "data_pipeline": 7,
    "low_priority": 9,
}


def test_shipped_routes_send_air_priority_p_as_redis_priority_10_minus_p(shipped: Plan) -> None:
    routes = shipped.celery["task_routes"]
    for name, task in shipped.tasks.items():
        assert routes[name] == {"queue": task.queue, "priority": 10 - task.priority}
        assert routes[name]["priority"] == SHIPPED_BROKER_PRIORITY[task.queue]
    assert routes["auth.token_refresh"] == {"queue": "high_priority", "priority": 0}
    assert routes["ops.backup"] == {"queue": "low_priority", "priority": 9}


def test_every_air_priority_gets_its_own_redis_level(tmp_path: Path) -> None:
    queues = {f"q{p}": {"priority": p} for p in range(1, 11)}
    config = queues_yaml(
        defaults={"queue": "q5", "retry": {"max": 0}},
        queues=queues,
        pools={"all": {"queues": list(queues)}},
        tasks={f"t.p{p}": {"queue": f"q{p}"} for p in range(1, 11)},
    )
    plan = compile_dir(tmp_path, config)

    routes = plan.celery["task_routes"]
    assert {routes[f"t.p{p}"]["priority"] for p in range(1, 11)} == set(range(10))
    for p in range(1, 11):
        assert routes[f"t.p{p}"] == {"queue": f"q{p}", "priority": 10 - p}
    assert {q.name: q.broker_priority for q in plan.queues} == {
        f"q{p}": 10 - p for p in range(1, 11)
    }


def test_a_task_priority_overrides_its_queue_priority(tmp_path: Path) -> None:
    config = queues_yaml()
    config["tasks"]["a.plain"] = {"priority": 8}
    plan = compile_dir(tmp_path, config)

    assert plan.celery["task_routes"]["a.plain"] == {"queue": "default", "priority": 2}
    assert plan.route("a.plain") == ("default", 8)


def test_routes_are_exact_names_then_a_final_catch_all(shipped: Plan) -> None:
    routes = shipped.celery["task_routes"]
    assert set(routes) == set(shipped.tasks) | {"*"}
    assert list(routes)[-1] == "*"
    assert routes["*"] == {"queue": "default", "priority": 5}
    assert not any(set(name) & set("*?[") for name in routes if name != "*")
    # The order survives the trip through JSON, which is how `air show` hands it on.
    assert list(json.loads(json.dumps(shipped.to_dict()))["celery"]["task_routes"])[-1] == "*"


def test_catch_all_takes_the_default_queue_and_its_priority(tmp_path: Path) -> None:
    config = queues_yaml(defaults={"queue": "bulk", "retry": {"max": 0}})
    config["tasks"]["a.plain"] = {"queue": "default"}
    plan = compile_dir(tmp_path, config)

    routes = plan.celery["task_routes"]
    assert list(routes)[-1] == "*"
    assert routes["*"] == {"queue": "bulk", "priority": 9}
    assert plan.celery["task_default_queue"] == "bulk"
    assert plan.route("not.declared") == ("bulk", 1)


def test_task_default_priority_is_never_set(shipped: Plan, tmp_path: Path) -> None:
    plan = compile_dir(tmp_path, queues_yaml())
    for settings in (shipped.celery, plan.celery):
        assert "task_default_priority" not in settings
        assert not any("default_priority" in key for key in settings)


# --- annotations ---------------------------------------------------------------------------------


def test_annotations_are_exact_names_without_a_wildcard(shipped: Plan) -> None:
    annotations = shipped.celery["task_annotations"]
    assert "*" not in annotations
    assert set(annotations) == set(shipped.tasks)


@pytest.mark.parametrize(
    ("task", "expected", "absent"),
    [
        (
            "auth.token_refresh",  # its rate limit is cluster-wide: booked in Redis, not Celery's
            {"soft_time_limit": 30.0, "time_limit": 60.0, "acks_late": True, "max_retries": 5},
            ("rate_limit",),
        ),
        (
            "sync.email",
            {
                "rate_limit": "10/m",
                "soft_time_limit": 600.0,
                "time_limit": 720.0,
                "acks_late": True,
                "max_retries": 5,
            },
            (),
        ),
        (
            "ai.generate_briefing",
            {"rate_limit": "10/m", "soft_time_limit": 180.0, "time_limit": 240.0, "max_retries": 3},
            (),
        ),
        (
            "contacts.process",
            {"soft_time_limit": 60.0, "time_limit": 120.0, "acks_late": True, "max_retries": 3},
            ("rate_limit",),
        ),
        (
            "data.deduplicate",
            {"soft_time_limit": 2700.0, "time_limit": 3000.0, "max_retries": 2},
            ("rate_limit",),
        ),
        ("debug", {"soft_time_limit": 10.0, "time_limit": 20.0, "max_retries": 0}, ("rate_limit",)),
    ],
)
def test_shipped_annotations_carry_the_yaml_values(
    shipped: Plan, task: str, expected: dict[str, Any], absent: tuple[str, ...]
) -> None:
    annotation = shipped.celery["task_annotations"][task]
    assert {key: annotation.get(key) for key in expected} == expected
    for key in absent:
        assert key not in annotation


def test_annotations_follow_a_hand_written_policy(tmp_path: Path) -> None:
    config = queues_yaml(
        defaults={
            "queue": "default",
            "acks_late": True,
            "time_limit": {"soft": "1m", "hard": "90s"},
            "retry": {"max": 2},
        }
    )
    config["tasks"] = {
        "a.urgent": {
            "queue": "urgent",
            "rate_limit": "1.5/s",
            "acks_late": False,
            "time_limit": {"soft": 5, "hard": "7s"},
            "retry": {"max": 7},
        },
        "a.plain": {},
        "a.bulk": {"queue": "bulk", "rate_limit": "100/h", "retry": {"max": 0}},
    }
    plan = compile_dir(tmp_path, config)

    annotations = plan.celery["task_annotations"]
    assert "*" not in annotations
    assert {
        k: annotations["a.urgent"][k]
        for k in ("rate_limit", "acks_late", "soft_time_limit", "time_limit", "max_retries")
    } == {
        "rate_limit": "1.5/s",
        "acks_late": False,
        "soft_time_limit": 5.0,
        "time_limit": 7.0,
        "max_retries": 7,
    }
    assert {
        k: annotations["a.plain"][k]
        for k in ("acks_late", "soft_time_limit", "time_limit", "max_retries")
    } == {"acks_late": True, "soft_time_limit": 60.0, "time_limit": 90.0, "max_retries": 2}
    assert "rate_limit" not in annotations["a.plain"]
    assert annotations["a.bulk"]["rate_limit"] == "100/h"
    assert annotations["a.bulk"]["max_retries"] == 0


def test_a_task_without_time_limits_gets_no_limit_annotation(tmp_path: Path) -> None:
    plan = compile_dir(tmp_path, queues_yaml())

    annotation = plan.celery["task_annotations"]["a.plain"]
    assert "time_limit" not in annotation and "soft_time_limit" not in annotation


# --- broker transport ----------------------------------------------------------------------------


def test_shipped_transport_options(shipped: Plan) -> None:
    options = shipped.celery["broker_transport_options"]
    assert options["priority_steps"] == list(range(10))
    assert options["queue_order_strategy"] == "priority"
    assert options["visibility_timeout"] == 7200  # `visibility_timeout: 2h`
    assert options["unacked_restore_interval"] == 10
    assert options["unacked_restore_throttle"] == 1


@pytest.mark.parametrize(
    ("visibility", "seconds", "interval"),
    [
        ("5s", 5, 1),
        ("9s", 9, 1),
        ("30s", 30, 3),
        ("45s", 45, 4),
        ("100s", 100, 10),
        ("2m", 120, 10),
        ("1d", 86400, 10),
    ],
)
def test_visibility_timeout_and_restore_interval(
    tmp_path: Path, visibility: str, seconds: int, interval: int
) -> None:
    config = queues_yaml(
        broker={"url": "redis://127.0.0.1:6399/0", "visibility_timeout": visibility}
    )
    config["defaults"]["time_limit"] = {"soft": "1s", "hard": "2s"}
    plan = compile_dir(tmp_path, config)

    options = plan.celery["broker_transport_options"]
    assert options["visibility_timeout"] == seconds
    # A lost task comes back within seconds of its timeout, not kombu's ~100 s later.
    assert options["unacked_restore_interval"] == interval
    assert 1 <= options["unacked_restore_interval"] <= min(10, max(1, round(seconds / 10)))
    assert options["unacked_restore_throttle"] == 1
    assert options["priority_steps"] == list(range(10))


# --- serialization and safety --------------------------------------------------------------------


def test_json_only_and_no_missing_queues(shipped: Plan) -> None:
    settings = shipped.celery
    assert settings["task_serializer"] == "json"
    assert settings["result_serializer"] == "json"
    assert settings["event_serializer"] == "json"
    assert settings["accept_content"] == ["json"]
    assert settings["result_accept_content"] == ["json"]
    assert settings["task_create_missing_queues"] is False
    assert settings["task_acks_late"] is True
    assert settings["worker_prefetch_multiplier"] == 1


# --- worker command lines ------------------------------------------------------------------------

SHIPPED_POOLS = {
    "high-priority": ("high_priority", 2, 100),
    "default": ("default", 4, 200),
    "ai-tasks": ("ai_tasks", 2, 50),
    "data-pipeline": ("data_pipeline", 1, 20),
    "low-priority": ("low_priority", 1, 50),
}


@pytest.mark.parametrize("pool", POOLS)
def test_shipped_worker_argv(shipped: Plan, pool: str) -> None:
    queue, concurrency, per_child = SHIPPED_POOLS[pool]
    argv = shipped.workers[pool].argv

    worker = shipped.workers[pool]
    processes = 2 if concurrency % 2 == 0 else 1  # one per core (2 here), splitting evenly
    assert worker.processes == processes and worker.concurrency == concurrency
    assert argv[:4] == ("celery", "-A", "runtime.celeryapp.app", "worker")
    assert flag(argv, "--hostname") == (f"{pool}@%h" if processes == 1 else f"{pool}.%i@%h")
    assert flag(argv, "--queues") == queue
    slots = concurrency // processes
    assert flag(argv, "--concurrency") == str(slots)
    assert flag(argv, "--pool") == ("solo" if slots == 1 else "prefork")
    assert flag(argv, "--max-tasks-per-child") == str(per_child)
    assert flag(argv, "--prefetch-multiplier") == "1"
    assert "--without-mingle" in argv and "--without-gossip" in argv
    assert "--without-heartbeat" not in argv  # monitoring needs heartbeats
    assert "--autoscale" not in argv and "--max-memory-per-child" not in argv
    assert shipped.workers[pool].queues == (queue,)


def test_a_multi_queue_pool_lists_its_queues_most_urgent_first(tmp_path: Path) -> None:
    config = queues_yaml(
        pools={"mixed": {"queues": ["bulk", "urgent", "default"], "concurrency": 3}}
    )
    plan = compile_dir(tmp_path, config)

    worker = plan.workers["mixed"]
    assert flag(worker.argv, "--queues") == "urgent,default,bulk"
    assert worker.queues == ("urgent", "default", "bulk")
    assert flag(worker.argv, "--concurrency") == "3"


def test_optional_pool_settings_reach_the_command_line(tmp_path: Path) -> None:
    config = queues_yaml(
        pools={
            "urgent": {
                "queues": ["urgent"],
                "prefetch_multiplier": 4,
                "max_memory_per_child": 300000,
            },
            "default": {
                "queues": ["default"],
                "autoscale": {"min": 2, "max": 8},
                "max_memory_per_child": "512MiB",
            },
            "bulk": {
                "queues": ["bulk"],
                "pool": "threads",
                "concurrency": 5,
                "max_memory_per_child": "2GiB",
            },
        }
    )
    plan = compile_dir(tmp_path, config)

    urgent, default, bulk = (plan.workers[n].argv for n in ("urgent", "default", "bulk"))
    assert flag(urgent, "--prefetch-multiplier") == "4"
    assert flag(urgent, "--max-memory-per-child") == "300000"  # an integer is KiB already
    assert "--max-tasks-per-child" not in urgent  # not set in the YAML
    assert flag(default, "--autoscale") == "8,2"  # Celery's order: max,min
    assert flag(default, "--max-memory-per-child") == str(512 * 1024)
    assert flag(default, "--prefetch-multiplier") == "1"
    assert flag(bulk, "--pool") == "threads"
    assert flag(bulk, "--concurrency") == "5"
    assert flag(bulk, "--max-memory-per-child") == str(2 * 1024 * 1024)
    assert "--autoscale" not in urgent and "--autoscale" not in bulk


def test_task_events_are_on_per_pool_unless_a_pool_turns_them_off(tmp_path: Path) -> None:
    config = queues_yaml()
    config["pools"]["bulk"]["task_events"] = False
    plan = compile_dir(tmp_path, config)

    # Off globally, on per worker: the `celery worker` command line and `air run` agree.
    assert plan.celery["worker_send_task_events"] is False
    assert "--task-events" in plan.workers["urgent"].argv
    assert plan.workers["urgent"].options["task_events"] is True
    assert "--task-events" not in plan.workers["bulk"].argv
    assert plan.workers["bulk"].options["task_events"] is False


def test_per_task_costs_nobody_reads_are_off(shipped: Plan) -> None:
    for setting in ("task_track_started", "result_extended", "task_send_sent_event"):
        assert not shipped.celery.get(setting), setting
    for worker in shipped.workers.values():
        assert flag(worker.argv, "--loglevel") == "WARNING"  # Celery's own default


# --- beat entries --------------------------------------------------------------------------------


def test_shipped_schedules_take_their_override_else_the_tasks_route(shipped: Plan) -> None:
    cleanup = shipped.beat["data-cleanup"]
    assert (cleanup.queue, cleanup.priority, cleanup.broker_priority) == ("low_priority", 3, 7)
    assert shipped.tasks["data.cleanup"].queue == "data_pipeline"  # the task's own route stays
    refresh = shipped.beat["token-refresh"]
    assert (refresh.queue, refresh.priority, refresh.broker_priority) == ("high_priority", 10, 0)
    dedup = shipped.beat["deduplication"]
    assert (dedup.queue, dedup.broker_priority, dedup.cron) == ("data_pipeline", 7, "0 4 * * 0")


def test_schedule_queue_priority_and_time_zone_overrides(tmp_path: Path) -> None:
    schedules = {
        "version": 1,
        "timezone": "America/New_York",
        "schedules": {
            "both": {
                "task": "a.plain",
                "cron": "0 9 * * *",
                "queue": "bulk",
                "priority": 9,
                "timezone": "Europe/Berlin",
                "args": [1, "x"],
                "kwargs": {"k": [True]},
            },
            "queue-only": {"task": "a.urgent", "every": "45s", "queue": "default"},
            "neither": {"task": "a.bulk", "cron": "*/5 * * * *"},
        },
    }
    plan = compile_dir(tmp_path, queues_yaml(), schedules)

    both, queue_only, neither = (plan.beat[n] for n in ("both", "queue-only", "neither"))
    assert (both.queue, both.priority, both.broker_priority) == ("bulk", 9, 1)
    assert both.timezone == "Europe/Berlin"
    assert (list(both.args), both.kwargs) == ([1, "x"], {"k": [True]})
    assert (queue_only.queue, queue_only.priority, queue_only.broker_priority) == ("default", 10, 0)
    assert (queue_only.every, queue_only.cron) == (45.0, None)
    assert (neither.queue, neither.priority, neither.broker_priority) == ("bulk", 1, 9)
    assert neither.timezone == "America/New_York"


# --- plain data, no Celery -----------------------------------------------------------------------


def test_the_plan_is_plain_json(shipped: Plan, tmp_path: Path) -> None:
    schedules = {
        "version": 1,
        "schedules": {
            "x": {
                "task": "a.plain",
                "every": "1m",
                "args": [1, 2.5, None, "é"],
                "kwargs": {"nested": {"list": [1, {"a": False}]}},
            }
        },
    }
    for plan in (shipped, compile_dir(tmp_path, queues_yaml(), schedules)):
        document = plan.to_dict()
        text = json.dumps(document, allow_nan=False)
        assert json.loads(text) == document
        assert set(document) >= {"celery", "workers", "beat", "tasks", "queues", "notes"}


def test_compile_and_validate_import_no_celery() -> None:
    """A fresh interpreter, because this one has long imported Celery for other tests."""
    code = (
        "import sys, runtime.compiler.compile, runtime.config.validate\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_a_cluster_rate_limit_and_a_unique_claim_compile_into_the_task_plan(shipped: Plan) -> None:
    refresh = shipped.tasks["auth.token_refresh"]
    assert refresh.cluster_rate_limit == "30/m" and refresh.rate_limit is None
    assert refresh.unique_for == 300.0 and refresh.unique_key == ("integration_id",)
    email = shipped.tasks["sync.email"]
    assert email.rate_limit == "10/m" and email.cluster_rate_limit is None
    assert email.unique_for is None and email.unique_key == ()



def test_a_workflow_schedule_names_the_workflow_and_no_queue(tmp_path: Path) -> None:
    queues = queues_yaml()
    queues["tasks"]["a.plain"] = {"time_limit": {"hard": "2m"}}
    queues["tasks"]["a.bulk"] = {"queue": "bulk", "time_limit": {"hard": "3m"}}
    (tmp_path / "workflows.yaml").write_text(
        yaml.safe_dump({"version": 1, "workflows": {"flow": {"steps": ["a.plain", "a.bulk"]}}})
    )
    schedules = {
        "version": 1,
        "schedules": {"flow-hourly": {"workflow": "flow", "cron": "0 * * * *", "overlap": "skip"}},
    }
    entry = compile_dir(tmp_path, queues, schedules).beat["flow-hourly"]

    assert (entry.task, entry.workflow, entry.queue) == ("", "flow", "")
    assert entry.target == "workflow flow"
    assert entry.lock_ttl == 3600 + 120 + 180  # visibility timeout + the steps' hard limits
