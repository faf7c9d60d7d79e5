"""`air validate --strict`: the task code and the config must agree.

Each check runs `air` in a fresh process: Celery's shared tasks register process-wide, so tasks
imported by other tests would otherwise count as registered here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.e2e.conftest import AIR, queues_config


def _run(tmp_path: Path, queues: dict[str, Any], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    (tmp_path / "queues.yaml").write_text(yaml.safe_dump(queues, sort_keys=False))
    (tmp_path / "schedules.yaml").write_text("version: 1\nschedules: {}\n")
    result = subprocess.run(
        [AIR, "--config", str(tmp_path), "validate", "--strict", "--format", "json", *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)["diagnostics"]


def _errors(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors only: the sample config has queues nothing routes to (AIR206 warnings)."""
    return [d for d in found if d["severity"] == "error"]


def _codes(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["code"], d["pointer"]) for d in _errors(found)]


def test_matching_code_and_config_pass(tmp_path: Path) -> None:
    code, found = _run(tmp_path, queues_config("redis://127.0.0.1:1/0"))
    assert (code, _codes(found)) == (0, [])


def test_a_declared_task_nobody_registers_is_an_error_at_its_key(tmp_path: Path) -> None:
    config = queues_config("redis://127.0.0.1:1/0")
    config["tasks"]["sample.ghost"] = {}
    code, found = _run(tmp_path, config)
    assert code == 1
    assert _codes(found) == [("AIR208", "/tasks/sample.ghost")]
    error = _errors(found)[0]
    text = Path(error["file"]).read_text().splitlines()
    assert text[error["line"] - 1].strip().startswith("sample.ghost:")


def test_a_registered_task_missing_from_the_config_is_an_error(tmp_path: Path) -> None:
    config = queues_config("redis://127.0.0.1:1/0")
    del config["tasks"]["sample.hang"]
    code, found = _run(tmp_path, config)
    assert code == 1
    assert _codes(found) == [("AIR208", "/tasks")]
    assert "sample.hang" in _errors(found)[0]["message"]


def test_an_unimportable_module_is_reported_once(tmp_path: Path) -> None:
    config = queues_config("redis://127.0.0.1:1/0")
    config["imports"] = ["tests.e2e.sample_tasks", "tests.no_such_module"]
    code, found = _run(tmp_path, config)
    assert code == 1
    assert _codes(found) == [("AIR207", "/imports/1")]
    assert "No module named 'tests.no_such_module'" in _errors(found)[0]["message"]


def test_a_retry_error_that_cannot_be_imported_is_an_error(tmp_path: Path) -> None:
    config = queues_config("redis://127.0.0.1:1/0")
    config["tasks"]["sample.flaky"] = {"retry": {"errors": ["ConnectionError", "nope.Error"]}}
    code, found = _run(tmp_path, config)
    assert code == 1
    assert _codes(found) == [("AIR209", "/tasks/sample.flaky/retry/errors/1")]


def test_strict_is_skipped_while_the_config_has_errors(tmp_path: Path) -> None:
    config = queues_config("redis://127.0.0.1:1/0")
    config["tasks"]["sample.ghost"] = {"queue": "nowhere"}
    code, found = _run(tmp_path, config)
    assert code == 1
    assert [c for c, _ in _codes(found)] == ["AIR201"]  # the config first; the code after


def test_a_workflow_step_must_accept_what_it_is_called_with(tmp_path: Path) -> None:
    steps = [
        {"task": "sample.step", "kwargs": {"tag": "a"}},
        "sample.echo",  # echo(value=None): takes the previous result
        {"task": "sample.flaky", "kwargs": {"key": "k", "failures": 0}},  # no room for it
        {"task": "sample.flaky", "input": "none", "kwargs": {"key": "k", "failures": 0}},
        {"parallel": [{"task": "sample.always_fails", "kwargs": {"key": "k", "nope": 1}}]},
    ]
    (tmp_path / "workflows.yaml").write_text(
        yaml.safe_dump({"version": 1, "workflows": {"w": {"steps": steps}}})
    )
    code, found = _run(tmp_path, queues_config("redis://127.0.0.1:1/0"))
    assert code == 1
    assert _codes(found) == [
        ("AIR230", "/workflows/w/steps/2"),
        ("AIR230", "/workflows/w/steps/4/parallel/0"),
    ]
