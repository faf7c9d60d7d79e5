"""The read-only and fail-fast `air` commands through click's CliRunner: show, pools, schedule,
run --dry-run, and the usage errors of run and send. None of them needs Redis."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner, Result

from cli.main import cli, main
from runtime.compiler.compile import load_plan
from tests.conftest import REPO

SHIPPED = REPO / "config"
POOLS = ("high-priority", "default", "ai-tasks", "data-pipeline", "low-priority")
# The shipped config reads these; the runner clears them so the defaults apply.
CLEAN_ENV: dict[str, str | None] = {
    "AIR_CONFIG_DIR": None,
    "AIR_BROKER_URL": None,
    "AIR_RESULT_BACKEND": None,
    "NO_COLOR": "1",
}


def air(*args: str, config: Path = SHIPPED) -> Result:
    return CliRunner(env=CLEAN_ENV).invoke(cli, ["--config", str(config), *args])


def air_main(*args: str, config: Path = SHIPPED) -> tuple[int, str, str]:
    """The console entry point, which turns errors into messages and exit codes."""
    with CliRunner(env=CLEAN_ENV).isolation() as (out, err, _):
        code = main(["--config", str(config), *args])
    return code, out.getvalue().decode(), err.getvalue().decode()


def write_schedules(directory: Path, schedules: dict[str, Any]) -> Path:
    queues = {
        "version": 1,
        "imports": ["tasks"],
        "broker": {"url": "redis://127.0.0.1:6399/0"},
        "defaults": {"queue": "default", "retry": {"max": 0}},
        "queues": {"default": {"priority": 5}},
        "pools": {"default": {"queues": ["default"]}},
        "tasks": {"t.one": {}},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "queues.yaml").write_text(yaml.safe_dump(queues))
    (directory / "schedules.yaml").write_text(
        yaml.safe_dump({"version": 1, "timezone": "UTC", "schedules": schedules})
    )
    return directory


def fire_times(stdout: str) -> list[datetime]:
    return [
        datetime.fromisoformat(line.strip())
        for line in stdout.splitlines()
        if line.startswith("  ") and not line.startswith("  (")
    ]


def assert_clean_usage_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, (out, err)
    for needle in needles:
        assert needle in err, err
    assert "Traceback" not in out + err
    assert out == ""


# --- show ----------------------------------------------------------------------------------------


def test_show_prints_the_plan_as_yaml() -> None:
    result = air("show")

    assert result.exit_code == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert list(document["celery"]["task_routes"])[-1] == "*"
    assert set(document["workers"]) == set(POOLS)
    assert document["workers"]["default"]["replicas"] == {"min": 1, "max": 1}
    notes = " ".join(document["notes"])
    assert "per worker node" in notes  # Celery's rate limits: the issue wants this said
    assert "--without-mingle --without-gossip" in notes


def test_show_prints_the_plan_as_json() -> None:
    result = air("show", "--format", "json")

    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    routes = document["celery"]["task_routes"]
    assert routes["auth.token_refresh"] == {"queue": "high_priority", "priority": 0}
    assert routes["*"] == {"queue": "default", "priority": 5}
    assert document["notes"] and all(isinstance(n, str) and n for n in document["notes"])
    assert document == yaml.safe_load(air("show").stdout)  # the same plan either way


# --- pools ---------------------------------------------------------------------------------------


def test_pools_lists_every_pool_and_its_worker_command() -> None:
    plan, _ = load_plan(SHIPPED, env={})

    result = air("pools")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = ["POOL", "QUEUES", "CONCURRENCY", "PROCESSES", "TASKS/CHILD", "TYPE"]
    assert lines[0].split() == header
    rows = {line.split()[0]: line.split() for line in lines[1:6]}
    assert rows == {  # on two cores (tests/unit/conftest.py)
        "high-priority": ["high-priority", "high_priority", "2", "2", "100", "solo"],
        "default": ["default", "default", "4", "2", "200", "prefork"],
        "ai-tasks": ["ai-tasks", "ai_tasks", "2", "2", "50", "solo"],
        "data-pipeline": ["data-pipeline", "data_pipeline", "1", "1", "20", "solo"],
        "low-priority": ["low-priority", "low_priority", "1", "1", "50", "solo"],
    }
    for pool in POOLS:
        worker = plan.workers[pool]
        times = " (x2)" if worker.processes == 2 else ""
        assert f"  {pool}{times}: {shlex.join(worker.argv)}" in lines


# --- schedule ------------------------------------------------------------------------------------


def test_schedule_table_has_every_schedule_with_its_next_time() -> None:
    plan, _ = load_plan(SHIPPED, env={})

    result = air("schedule")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SCHEDULE", "TASK", "QUEUE", "WHEN", "NEXT"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == set(plan.beat)
    for name, entry in plan.beat.items():
        assert rows[name][1:3] == [entry.task, entry.queue]
        assert datetime.fromisoformat(rows[name][-1]) > datetime.now(ZoneInfo("UTC"))
    assert rows["data-cleanup"][2] == "low_priority"  # the schedule's own queue


def test_schedule_next_n_are_increasing_cron_times() -> None:
    result = air("schedule", "token-refresh", "--next", "3")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "token-refresh: auth.token_refresh on high_priority, cron '*/5 * * * *' UTC"
    )
    times = fire_times(result.stdout)
    assert len(times) == 3
    assert all(t.utcoffset() == timedelta(0) and t.minute % 5 == 0 and t.second == 0 for t in times)
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(minutes=5)] * 2


@pytest.mark.parametrize(
    ("schedule", "zone", "step"),
    [
        (
            {"task": "t.one", "cron": "0 9 * * *", "timezone": "Europe/Berlin"},
            "Europe/Berlin",
            None,
        ),
        (
            {"task": "t.one", "cron": "30 */4 * * *", "timezone": "Asia/Kolkata"},
            "Asia/Kolkata",
            None,
        ),
        (
            {"task": "t.one", "every": "90m", "timezone": "America/New_York"},
            "America/New_York",
            timedelta(minutes=90),
        ),
    ],
)
def test_schedule_times_are_in_the_schedules_own_time_zone(
    tmp_path: Path, schedule: dict[str, Any], zone: str, step: timedelta | None
) -> None:
    config = write_schedules(tmp_path, {"s": schedule})

    result = air("schedule", "s", "--next", "4", config=config)

    assert result.exit_code == 0, result.stderr
    times = fire_times(result.stdout)
    assert len(times) == 4
    assert all(a < b for a, b in zip(times, times[1:], strict=False))
    for moment in times:
        assert moment.utcoffset() == moment.astimezone(ZoneInfo(zone)).utcoffset(), moment
    if step is not None:
        assert [b - a for a, b in zip(times, times[1:], strict=False)] == [step] * 3
    elif "cron" in schedule and schedule["cron"] == "0 9 * * *":
        assert all((t.hour, t.minute) == (9, 0) for t in times)


def test_schedule_stops_listing_at_the_end_of_the_calendar(tmp_path: Path) -> None:
    config = write_schedules(tmp_path, {"decade": {"task": "t.one", "every": "3650d"}})

    result = air("schedule", "decade", "--next", "1000", config=config)

    assert result.exit_code == 0, result.stderr
    times = fire_times(result.stdout)
    assert 700 < len(times) < 1000
    assert times[-1].year <= 9999
    assert result.stdout.splitlines()[-1] == "  (no later times: past the year 9999)"


def test_schedule_of_an_unknown_name_is_a_usage_error() -> None:
    code, out, err = air_main("schedule", "token-refesh")

    assert_clean_usage_error(
        code, out, err, "unknown schedule 'token-refesh'", "did you mean 'token-refresh'?"
    )


# --- run -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pool", POOLS)
def test_run_dry_run_prints_the_config_dir_and_the_worker_command(pool: str) -> None:
    plan, _ = load_plan(SHIPPED, env={})

    result = air("run", pool, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"AIR_CONFIG_DIR={shlex.quote(str(SHIPPED.resolve()))} "
        f"{shlex.join(plan.workers[pool].argv)}\n"
    )
    hostname = f"{pool}@%h" if plan.workers[pool].processes == 1 else f"{pool}.%i@%h"
    assert f"--hostname {hostname}" in result.stdout


def test_run_of_an_unknown_pool_is_a_usage_error_with_a_hint() -> None:
    code, out, err = air_main("run", "defualt")

    assert_clean_usage_error(code, out, err, "unknown pool 'defualt'", "did you mean 'default'?")


# --- send ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--args", "[1, 2", "--args is not valid JSON"),
        ("--args", '{"a": 1}', "--args must be a JSON list"),
        ("--kwargs", "{user: 1}", "--kwargs is not valid JSON"),
        ("--kwargs", "[1]", "--kwargs must be a JSON object"),
    ],
)
def test_send_with_bad_json_arguments_is_a_usage_error(
    option: str, value: str, message: str
) -> None:
    code, out, err = air_main("send", "debug", option, value)

    assert_clean_usage_error(code, out, err, message)
    if "not valid JSON" in message:
        assert f"hint: example: {option} '" in err


def test_send_of_an_undeclared_task_is_a_usage_error_with_a_hint() -> None:
    code, out, err = air_main("send", "sync.emial")

    assert_clean_usage_error(
        code, out, err, "unknown task 'sync.emial'", "did you mean 'sync.email'?"
    )


def test_a_missing_config_directory_is_a_usage_error(tmp_path: Path) -> None:
    for command in (("show",), ("pools",), ("run", "default", "--dry-run")):
        code, out, err = air_main(*command, config=tmp_path / "nowhere")

        assert code == 2, (command, err)
        assert "Traceback" not in out + err
