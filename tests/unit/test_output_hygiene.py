"""Passwords never printed, user text never forges a line: the redaction function, the report
escapes (the `::error` forgery case from issue 12) and the commands that print config values."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from runtime.config.diagnostics import Diagnostic, Report, Severity
from runtime.config.redact import redact, redact_data
from runtime.config.reporters import render_github, render_json, render_text

SHIPPED = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:hunter2@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:hunter2@h:6380/1", "rediss://user:***@h:6380/1"),
        ("redis://user:p@ss@h/0", "redis://user:***@h/0"),  # the last '@' ends the user-info
        ("user:hunter2@h:6379", "user:***@h:6379"),  # no scheme: AIR502's case
        ("at 'amqp://g:hunter2@h//' now", "at 'amqp://g:***@h//' now"),
        ("redis://h/0?password=hunter2&db=1", "redis://h/0?password=***&db=1"),
        ("redis://:${REDIS_PASSWORD}@h/0", "redis://:${REDIS_PASSWORD}@h/0"),  # no secret
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("ops@example.com", "ops@example.com"),
        # a user and no password: nothing to mask (was mangled to `postgresql+psycopg:***@...`)
        ("postgresql+psycopg://postgres@127.0.0.1:5432/test",
         "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        ("postgresql+psycopg://app:s3cret@db:5432/air", "postgresql+psycopg://app:***@db:5432/air"),
        ("url=redis://:hunter2@h/0", "url=redis://:***@h/0"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_data_walks_every_string() -> None:
    document = {"a": ["redis://:pw@h/0", 3], "b": {"c": "x:pw@h"}, "d": None}

    assert redact_data(document) == {"a": ["redis://:***@h/0", 3], "b": {"c": "x:***@h"}, "d": None}


FORGED = Diagnostic(
    severity=Severity.ERROR,
    code="AIR201",
    message="task 'a\n::error file=x.yaml,line=1::forged' routes to an unknown queue",
    file="config/queues.yaml",
    line=3,
    col=5,
    pointer="/tasks/a\n::error file=x.yaml,line=1::forged",
    hint="x\u2028y\u2029z\x85w\x1b[31m",
)


def _report(*diagnostics: Diagnostic) -> Report:
    report = Report()
    report.extend(diagnostics)
    return report


def test_text_report_escapes_line_breaks_and_terminal_controls() -> None:
    text = render_text(_report(FORGED))

    lines = text.splitlines()  # splitlines() breaks at \u2028, \u2029 and \x85 too
    assert len(lines) == 3, lines
    assert not any(line.startswith("::error") for line in lines)
    assert "\x1b" not in text
    assert "a\\n::error file=x.yaml" in lines[0]
    assert lines[1] == "    hint: x\\u2028y\\u2029z\\x85w\\x1b[31m"


def test_github_report_cannot_be_forged_by_a_key_with_a_newline() -> None:
    github = render_github(_report(FORGED))

    lines = github.split("\n")
    assert [line for line in lines if line.startswith("::")] == [lines[0]]
    assert "\x1b" not in github and "\u2028" not in github
    assert lines[0].startswith("::error file=config/queues.yaml,line=3,col=5,title=AIR201::")


def test_every_report_format_redacts_passwords() -> None:
    leaky = replace(FORGED, message="broker.url 'user:hunter2@h' uses scheme 'user'", hint=None)

    for render in (render_text, render_github, render_json):
        assert "hunter2" not in render(_report(leaky)), render


@pytest.mark.parametrize(
    "args",
    [
        ("show",),
        ("show", "--format", "json"),
        ("pools",),
        ("run", "default", "--dry-run"),
        ("beat", "--dry-run"),
    ],
)
def test_commands_never_print_the_broker_password(args: tuple[str, ...]) -> None:
    env = {
        "AIR_BROKER_URL": "redis://:hunter2@127.0.0.1:6399/0",
        "AIR_RESULT_BACKEND": "redis://:hunter3@127.0.0.1:6399/1",
        "AIR_CONFIG_DIR": None,
    }
    with CliRunner(env=env).isolation() as (out, err, _):
        code = main(["--config", str(SHIPPED), *args])
    output = out.getvalue().decode() + err.getvalue().decode()

    assert code == 0, output
    assert "hunter2" not in output and "hunter3" not in output
    if args[0] == "show":
        assert "redis://:***@127.0.0.1:6399/0" in output
