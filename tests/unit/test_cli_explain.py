"""`air explain NAME` on the shipped config and small configs: values, origins, Celery names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.test_cli_commands import air_main


def rows(output: str) -> dict[str, list[str]]:
    """SETTING -> [VALUE, FROM, BECOMES] from the text table (columns split on 2+ spaces)."""
    table: dict[str, list[str]] = {}
    for line in output.splitlines()[2:]:
        if not line.startswith("  "):
            break
        cells = re.split(r"\s{2,}", line.strip())
        table[cells[0]] = cells[1:]
    return table


def test_a_task_shows_its_own_inherited_and_builtin_values() -> None:
    code, out, _ = air_main("explain", "auth.token_refresh")
    assert code == 0
    assert out.startswith("task auth.token_refresh  (config/queues.yaml:")
    table = rows(out)
    assert table["rate_limit"][0] == "30/m"
    assert table["rate_limit"][1].startswith("config/queues.yaml:")
    assert table["rate_limit"][2].startswith("air task base: one slot booked in Redis")
    assert table["rate_limit.scope"][0] == "cluster"
    assert table["unique.key"][0] == "[integration_id]"
    assert table["unique.for"][0] == "5m"
    assert table["acks_late"][1].startswith("defaults.acks_late (config/queues.yaml:")
    assert table["retry.backoff"][1].startswith("defaults.retry.backoff (config/queues.yaml:")
    assert table["dead_letter"][:2] == ["true", "air default"]
    assert table["priority"] == [
        "10",
        "the priority of queue 'high_priority'",
        "task_routes['auth.token_refresh'].priority = 0 (Redis)",
    ]
    assert table["time_limit.hard"][2] == "task_annotations['auth.token_refresh'].time_limit"


def test_positions_point_at_the_value_in_the_file() -> None:
    code, out, _ = air_main("--config", "config", "explain", "--format", "json", "debug")
    assert code == 0
    (item,) = json.loads(out)
    hard = next(s for s in item["settings"] if s["key"] == "time_limit.hard")
    source = hard["from"]
    line = Path(source["file"]).read_text().splitlines()[source["line"] - 1]
    assert line[source["col"] - 1 :].startswith("20s")
    assert hard["value"] == 20.0 and hard["shown"] == "20s"


def test_a_shared_name_shows_the_queue_and_the_pool() -> None:
    code, out, _ = air_main("explain", "default")
    assert code == 0
    assert out.startswith("queue default  (")
    assert "\n\npool default  (" in out
    code, out, _ = air_main("explain", "pool:default")
    assert code == 0 and out.startswith("pool default  (") and "queue default" not in out
    table = rows(out)
    assert table["concurrency"][0] == "4"  # the pool's slots, split over its processes
    assert table["concurrency"][2].startswith("--concurrency ")
    assert table["autoscale"][1:] == ["air default", "--autoscale not passed"]


def test_a_schedule_and_the_broker() -> None:
    code, out, _ = air_main("explain", "data-cleanup")
    assert code == 0
    table = rows(out)
    assert table["queue"][0] == "low_priority" and table["queue"][1].startswith(
        "config/schedules.yaml:"
    )
    assert table["timezone"][1].startswith("config/schedules.yaml:7:")  # the file's timezone
    assert table["overlap"][2] == "air beat overlap lock"
    code, out, _ = air_main("explain", "broker")
    assert code == 0
    table = rows(out)
    assert table["visibility_timeout"][0] == "2h"
    assert table["visibility_timeout"][2] == "broker_transport_options.visibility_timeout"


def test_a_password_in_the_broker_url_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    queues = (Path("config") / "queues.yaml").read_text().replace(
        "${AIR_BROKER_URL:-redis://127.0.0.1:6379/0}", "${AIR_TEST_BROKER}"
    )
    (config / "queues.yaml").write_text(queues)
    (config / "schedules.yaml").write_text((Path("config") / "schedules.yaml").read_text())
    monkeypatch.setenv("AIR_TEST_BROKER", "redis://:hunter2@127.0.0.1:6379/0")
    code, out, _ = air_main("explain", "broker", config=config)
    assert code == 0 and "hunter2" not in out and "redis://:***@127.0.0.1:6379/0" in out


def test_an_unknown_name_is_a_usage_error_with_a_suggestion() -> None:
    code, out, err = air_main("explain", "auth.token_refres")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: no task, queue, pool or schedule 'auth.token_refres' in the config",
        "  hint: did you mean 'auth.token_refresh'? name a task, queue, pool or schedule "
        "(air show lists them), or 'broker'",
    ]
    code, _, err = air_main("explain", "pools:default")
    assert code == 2 and err.startswith("error: unknown kind 'pools' in 'pools:default'")


def test_config_errors_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "queues.yaml").write_text("version: 1\nqueues: {default: {priority: 11}}\n")
    (config / "schedules.yaml").write_text("version: 1\n")
    code, out, err = air_main("explain", "default", config=config)
    assert code == 1 and out == "" and "AIR105" in err and "Traceback" not in err
