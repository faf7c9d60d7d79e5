"""Config cases as data: every directory under tests/cases/{valid,invalid}/ is one test.

Each case holds queues.yaml and schedules.yaml (a case about a missing file leaves one out),
expected.json (the diagnostics' code, severity, file, line and col) and expected.txt (the exact
text output of `air validate`). An optional env.json sets variables ("NAME": "value") or unsets
them ("NAME": null) for the run.

Paths: the validator prints paths relative to the working directory, so each case runs with the
working directory set to the case directory and `--config .`; every path then prints as plain
`queues.yaml` / `schedules.yaml`, whatever the checkout location.

To add a case: write the two YAML files, run `air --config . validate` (and `--format json`) in
its directory, check every line:col by hand against the YAML, then save them as expected files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import cli
from runtime.config.diagnostics import CODES
from runtime.config.validate import validate

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES = REPO_ROOT / "tests" / "cases"
# Codes only `air validate --strict` emits (it imports the task modules): tests/unit/test_strict.py
# covers them, not the config cases.
NOT_EMITTED = {"AIR207", "AIR208", "AIR209", "AIR230"}
FILE_LEVEL = {"AIR006"}  # diagnostics about a whole file: line 0, col 0


def case_dirs() -> list[Path]:
    return sorted(
        p for group in ("valid", "invalid") for p in (CASES / group).iterdir() if p.is_dir()
    )


def expected_of(case: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return data


def use_case_env(case: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env_file = case / "env.json"
    settings = json.loads(env_file.read_text(encoding="utf-8")) if env_file.exists() else {}
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return {k: v for k, v in settings.items() if v is not None}


def test_cases_exist() -> None:
    cases = case_dirs()
    assert len([c for c in cases if c.parent.name == "valid"]) >= 5
    assert len([c for c in cases if c.parent.name == "invalid"]) >= 25


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_case_env(case, monkeypatch)
    monkeypatch.chdir(case)
    runner = CliRunner()
    text = runner.invoke(cli, ["--config", ".", "validate"])
    as_json = runner.invoke(cli, ["--config", ".", "validate", "--format", "json"])

    expected = expected_of(case)
    found = [
        {k: d[k] for k in ("code", "severity", "file", "line", "col")}
        for d in json.loads(as_json.stdout)["diagnostics"]
    ]
    assert found == expected
    assert text.stdout == (case / "expected.txt").read_text(encoding="utf-8")

    errors = [d for d in expected if d["severity"] == "error"]
    if case.parent.name == "valid":
        assert errors == []
        want = 0
    else:
        assert errors, "an invalid case must produce at least one error"
        want = 2 if any(d["code"] in FILE_LEVEL for d in expected) else 1
    for result in (text, as_json):
        assert result.exit_code == want, result.output
        assert result.stderr == ""
        assert isinstance(result.exception, SystemExit | None)


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case_expectations_are_well_formed(case: Path) -> None:
    """Expected positions are inside the files they name, and every code is registered."""
    assert (case / "expected.txt").is_file()
    for item in expected_of(case):
        assert set(item) == {"code", "severity", "file", "line", "col"}
        assert item["code"] in CODES and item["severity"] in ("error", "warning")
        assert item["file"] in ("queues.yaml", "schedules.yaml", "workflows.yaml")
        if item["code"] in FILE_LEVEL:
            assert (item["line"], item["col"]) == (0, 0)
            continue
        lines = (case / item["file"]).read_bytes().decode("utf-8", "replace").split("\n")
        assert 1 <= item["line"] <= len(lines)
        assert 1 <= item["col"] <= len(lines[item["line"] - 1]) + 1


def test_every_code_validate_can_emit_has_an_invalid_case() -> None:
    covered = {
        d["code"]
        for case in case_dirs()
        if case.parent.name == "invalid"
        for d in expected_of(case)
    }
    assert covered == set(CODES) - NOT_EMITTED


def test_codes_without_a_case_are_emitted_only_by_the_strict_check() -> None:
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (REPO_ROOT / "runtime").rglob("*.py")
        if p.name not in ("diagnostics.py", "strict.py")
    )
    assert sorted(c for c in NOT_EMITTED if re.search(f"[\"']{c}[\"']", sources)) == []


def test_one_file_with_many_errors_reports_them_all_in_one_run() -> None:
    expected = expected_of(CASES / "invalid" / "many-errors")
    queues = [d for d in expected if d["file"] == "queues.yaml" and d["severity"] == "error"]
    assert len(queues) >= 10
    assert len({d["code"] for d in queues}) >= 8  # schema and semantic findings side by side
    assert len({d["line"] for d in queues}) >= 9


# --- what the valid cases mean, beyond "no errors" -----------------------------------------------


def test_env_interpolation_case_builds_the_expected_model(monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES / "valid" / "env-interpolation"
    env = use_case_env(case, monkeypatch)
    config = validate(case, env).config
    assert config.broker.url == "redis://broker.internal:6380/2"
    assert config.broker.result_backend == "redis://:s3cret@broker.internal:6380/3"
    assert config.pools["default"].concurrency == 4  # ${UNSET:-4}: an integer, not "4"
    assert config.queues["default"].priority == 5  # ${EMPTY:-5}: empty falls back
    assert config.queues["default"].description == "costs ${HOME} dollars"
    assert config.timezone == "Europe/Berlin"
    assert config.schedules["send"].cron == "*/10 * * * *"


def test_yaml12_case_keeps_names_as_strings() -> None:
    case = CASES / "valid" / "yaml12-scalars"
    config = validate(case, {}).config
    assert list(config.queues) == ["on", "off", "no"]
    assert config.queues["off"].priority == 10  # 0010 is decimal under YAML 1.2
    assert config.queues["no"].description == "12:30"
    assert config.default_queue == "on"
    assert list(config.schedules) == ["12:30"]
    assert config.schedules["12:30"].description == "off"


def test_merge_keys_case_applies_merges_with_explicit_keys_winning() -> None:
    config = validate(CASES / "valid" / "merge-keys", {}).config
    reports = config.pools["reports"]
    assert (reports.queues, reports.concurrency, reports.max_tasks_per_child) == (
        ("reports",),
        2,
        100,
    )
    weekly = config.tasks["report.weekly"]
    assert weekly.queue == "reports" and weekly.retry.backoff == "fixed"
    assert weekly.time_limit.hard is not None and weekly.time_limit.hard.total_seconds() == 360
    assert config.schedules["weekly"].task == "report.weekly"
    assert config.schedules["weekly"].overlap == "skip"


def test_every_schedules_case_parses_intervals() -> None:
    config = validate(CASES / "valid" / "every-schedules", {}).config
    every = {name: s.every.total_seconds() for name, s in config.schedules.items() if s.every}
    assert every == {
        "ping-30s": 30,
        "ping-90": 90,
        "ping-fraction": 1.5,
        "report-hourly": 3600,
        "report-paused": 60,
    }
    assert config.schedules["report-nightly"].timezone == "Asia/Tokyo"
    assert config.schedules["ping-30s"].timezone == "America/New_York"


# --- the shipped config --------------------------------------------------------------------------


def test_shipped_config_is_clean() -> None:
    result = validate(REPO_ROOT / "config", {})
    assert [(d.code, d.file, d.line, d.col) for d in result.report] == []
    assert result.report.errors == 0 and result.report.warnings == 0
    assert not result.unreadable


def test_shipped_config_declares_the_default_topology() -> None:
    config = validate(REPO_ROOT / "config", {}).config
    assert {n: q.priority for n, q in config.queues.items()} == {
        "high_priority": 10,
        "default": 5,
        "ai_tasks": 7,
        "data_pipeline": 3,
        "low_priority": 1,
    }
    assert {
        n: (p.queues, p.concurrency, p.max_tasks_per_child) for n, p in config.pools.items()
    } == {
        "high-priority": (("high_priority",), 2, 100),
        "default": (("default",), 4, 200),
        "ai-tasks": (("ai_tasks",), 2, 50),
        "data-pipeline": (("data_pipeline",), 1, 20),
        "low-priority": (("low_priority",), 1, 50),
    }
    assert len(config.schedules) == 7
    assert config.schedules["data-cleanup"].queue == "low_priority"
    assert config.tasks["data.cleanup"].queue == "data_pipeline"
    assert config.imports == ("tasks",)
