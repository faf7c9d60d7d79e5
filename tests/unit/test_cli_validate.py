"""`air validate`: exit codes, formats, where the config comes from, and no Celery import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli, main

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "config"
CASES = REPO_ROOT / "tests" / "cases"
WARNINGS_ONLY = CASES / "valid" / "warnings-only"
MANY_ERRORS = CASES / "invalid" / "many-errors"
AIR = Path(sys.executable).with_name("air")  # the console script installed next to python


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit | None), result.exception
    return result


# Variables that would change what these tests see (the shipped config reads the broker ones).
AMBIENT = ("AIR_CONFIG_DIR", "NO_COLOR", "AIR_BROKER_URL", "AIR_RESULT_BACKEND")


@pytest.fixture(autouse=True)
def no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)


def test_shipped_config_exits_0() -> None:
    result = run("--config", str(CONFIG), "validate")
    assert result.exit_code == 0
    assert result.stdout == "no problems\n"
    assert result.stderr == ""


def test_quiet_prints_nothing_when_clean() -> None:
    result = run("-q", "--config", str(CONFIG), "validate")
    assert (result.exit_code, result.stdout) == (0, "")


def test_warnings_only_exits_0_and_prints_them() -> None:
    result = run("--config", str(WARNINGS_ONLY), "validate")
    assert result.exit_code == 0
    assert "warning AIR403" in result.stdout
    assert result.stdout.endswith("0 errors, 6 warnings\n")


def test_errors_exit_1_and_go_to_stdout() -> None:
    result = run("--config", str(MANY_ERRORS), "validate")
    assert result.exit_code == 1
    assert "error AIR203" in result.stdout and "error AIR401" in result.stdout
    assert result.stdout.endswith("18 errors, 3 warnings\n")
    assert result.stderr == ""


def test_quiet_still_prints_errors() -> None:
    result = run("-q", "--config", str(MANY_ERRORS), "validate")
    assert result.exit_code == 1 and "error AIR203" in result.stdout


def test_missing_directory_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = run("--config", str(missing), "validate")
    assert result.exit_code == 2
    assert result.stdout.count("AIR006") == 2
    assert "does not exist" in result.stdout


def test_one_missing_file_exits_2_even_with_other_errors(write_config: Callable[..., Path]) -> None:
    directory = write_config(queues="version: 3\n", schedules=None)
    result = run("--config", str(directory), "validate")
    assert result.exit_code == 2
    assert "AIR006" in result.stdout and "AIR108" in result.stdout


def test_directory_in_place_of_a_file_exits_2(write_config: Callable[..., Path]) -> None:
    directory = write_config(queues=None)
    (directory / "queues.yaml").mkdir()
    result = run("--config", str(directory), "validate")
    assert result.exit_code == 2
    assert "AIR006" in result.stdout and "directory" in result.stdout.lower()


def test_config_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text("version: 1\n")
    result = run("--config", str(path), "validate")
    assert result.exit_code == 2
    assert "is a file" in result.stderr and result.stdout == ""


def test_unknown_format_is_a_usage_error() -> None:
    result = run("--config", str(CONFIG), "validate", "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr and "text" in result.stderr


def test_json_format() -> None:
    result = run("--config", str(MANY_ERRORS), "validate", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert set(document) == {"status", "errors", "warnings", "diagnostics"}
    assert (document["status"], document["errors"], document["warnings"]) == ("fail", 18, 3)
    assert len(document["diagnostics"]) == 21
    first = document["diagnostics"][0]
    assert set(first) == {"severity", "code", "message", "file", "line", "col", "pointer", "hint"}


def test_json_format_of_a_clean_config_even_when_quiet() -> None:
    result = run("-q", "--config", str(CONFIG), "validate", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "status": "ok",
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
    }


def test_github_format() -> None:
    result = run("--config", str(MANY_ERRORS), "validate", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    annotations = [line for line in lines if line.startswith("::")]
    assert len(annotations) == 21
    assert sum(a.startswith("::error file=") for a in annotations) == 18
    assert sum(a.startswith("::warning file=") for a in annotations) == 3
    assert any(",line=14,col=31,title=AIR203::" in a for a in annotations)
    assert lines[-1] == "18 errors, 3 warnings"


def test_config_option_after_the_verb() -> None:
    result = run("validate", "--config", str(MANY_ERRORS))
    assert result.exit_code == 1 and "AIR203" in result.stdout


def test_config_option_after_the_verb_wins() -> None:
    result = run("--config", str(MANY_ERRORS), "validate", "--config", str(CONFIG))
    assert (result.exit_code, result.stdout) == (0, "no problems\n")


def test_air_config_dir_is_honoured() -> None:
    result = run("validate", env={"AIR_CONFIG_DIR": str(MANY_ERRORS)})
    assert result.exit_code == 1 and "AIR203" in result.stdout
    # an explicit option beats the environment
    result = run("--config", str(CONFIG), "validate", env={"AIR_CONFIG_DIR": str(MANY_ERRORS)})
    assert result.exit_code == 0


def test_default_is_config_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    assert run("validate").exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = run("validate")
    assert result.exit_code == 2
    assert "config/queues.yaml: error AIR006" in result.stdout


def test_paths_print_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "invalid")
    result = run("--config", "many-errors", "validate")
    assert result.stdout.startswith("many-errors/queues.yaml:3:8: warning AIR501")


def test_colour_is_opt_in_on_a_pipe() -> None:
    assert "\033[" not in run("--config", str(MANY_ERRORS), "validate").stdout
    coloured = run("--color", "always", "--config", str(MANY_ERRORS), "validate").stdout
    assert "\033[31merror\033[0m" in coloured
    assert "\033[" not in run("--color", "never", "--config", str(MANY_ERRORS), "validate").stdout
    # NO_COLOR only affects auto; a pipe is never a terminal anyway
    assert (
        "\033[" not in run("--config", str(MANY_ERRORS), "validate", env={"NO_COLOR": "1"}).stdout
    )


def test_help_lists_formats_and_exit_codes() -> None:
    result = run("validate", "--help")
    assert result.exit_code == 0
    assert "github" in result.stdout and "json" in result.stdout and "Exit status" in result.stdout


# --- main(): the console entry point -------------------------------------------------------------


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--config", str(CONFIG), "validate"]) == 0
    assert main(["--config", str(MANY_ERRORS), "validate"]) == 1
    assert main(["--config", str(tmp_path / "missing"), "validate"]) == 2
    assert main(["validate", "--no-such-option"]) == 2
    output = capsys.readouterr()
    assert "No such option" in output.err
    assert "Traceback" not in output.out + output.err


# --- real processes: the installed console script ------------------------------------------------


def air(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    return subprocess.run(
        [str(AIR), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_console_script_on_the_shipped_config() -> None:
    done = air("validate")
    assert (done.returncode, done.stdout, done.stderr) == (0, "no problems\n", "")


def test_console_script_exit_codes_and_github_output(tmp_path: Path) -> None:
    done = air("--config", str(MANY_ERRORS), "validate", "--format", "github")
    assert done.returncode == 1
    assert done.stdout.count("::error file=") == 18
    missing = air("validate", cwd=tmp_path)
    assert missing.returncode == 2
    assert "Traceback" not in missing.stdout + missing.stderr


def test_validate_never_imports_celery() -> None:
    code = (
        "import sys\n"
        "from cli.main import main\n"
        "code = main(['validate'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('celery', 'kombu'))\n"
        "assert not loaded, loaded\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "no problems\n"
