"""Text, JSON and GitHub renderings of a report."""

from __future__ import annotations

import json

from runtime.config.diagnostics import Diagnostic, Report, Severity
from runtime.config.reporters import REPORTERS, render_github, render_json, render_text, summary


def report(*diagnostics: Diagnostic) -> Report:
    result = Report()
    result.extend(diagnostics)
    return result


UNKNOWN_QUEUE = Diagnostic(
    severity=Severity.ERROR,
    code="AIR203",
    message="pool 'default' consumes queue 'hgh', which is not declared",
    file="config/queues.yaml",
    line=14,
    col=18,
    pointer="/pools/default/queues/1",
    hint="did you mean 'high'? declared queues: default, high",
)
NO_LIMIT = Diagnostic(
    severity=Severity.WARNING,
    code="AIR302",
    message="task 't' has no time limit",
    file="config/queues.yaml",
    line=9,
    col=3,
    pointer="/tasks/t",
)
MISSING = Diagnostic(
    severity=Severity.ERROR,
    code="AIR006",
    message="cannot read config/schedules.yaml: does not exist",
    file="config/schedules.yaml",
    hint="check the path",
)
SECOND = Diagnostic(
    severity=Severity.ERROR,
    code="AIR101",
    message="unknown key 'x' in the top level",
    file="config/queues.yaml",
    line=14,
    col=2,
    pointer="/x",
)


def test_registry_offers_the_three_formats() -> None:
    assert sorted(REPORTERS) == ["github", "json", "text"]


def test_summary_counts_with_plurals() -> None:
    assert summary(report()) == "no problems"
    assert summary(report(UNKNOWN_QUEUE)) == "1 error, 0 warnings"
    assert summary(report(UNKNOWN_QUEUE, SECOND, NO_LIMIT)) == "2 errors, 1 warning"
    assert summary(report(NO_LIMIT, NO_LIMIT)) == "0 errors, 2 warnings"


def test_text_format_is_exactly_as_documented() -> None:
    text = render_text(report(UNKNOWN_QUEUE, MISSING, NO_LIMIT, SECOND))
    assert text == (
        "config/queues.yaml:9:3: warning AIR302 /tasks/t: task 't' has no time limit\n"
        "config/queues.yaml:14:2: error AIR101 /x: unknown key 'x' in the top level\n"
        "config/queues.yaml:14:18: error AIR203 /pools/default/queues/1: pool 'default' consumes "
        "queue 'hgh', which is not declared\n"
        "    hint: did you mean 'high'? declared queues: default, high\n"
        "config/schedules.yaml: error AIR006: cannot read config/schedules.yaml: does not exist\n"
        "    hint: check the path\n"
        "3 errors, 1 warning\n"
    )


def test_text_of_a_clean_report() -> None:
    assert render_text(report()) == "no problems\n"


def test_text_colour_only_when_asked() -> None:
    plain = render_text(report(UNKNOWN_QUEUE, NO_LIMIT))
    coloured = render_text(report(UNKNOWN_QUEUE, NO_LIMIT), color=True)
    assert "\033[" not in plain
    assert "\033[31merror\033[0m" in coloured and "\033[33mwarning\033[0m" in coloured
    stripped = coloured
    for code in ("\033[1m", "\033[2m", "\033[0m", "\033[31m", "\033[33m"):
        stripped = stripped.replace(code, "")
    assert stripped == plain


def test_json_shape() -> None:
    document = json.loads(render_json(report(UNKNOWN_QUEUE, NO_LIMIT, MISSING)))
    assert set(document) == {"status", "errors", "warnings", "diagnostics"}
    assert (document["status"], document["errors"], document["warnings"]) == ("fail", 2, 1)
    assert [d["code"] for d in document["diagnostics"]] == ["AIR302", "AIR203", "AIR006"]
    assert document["diagnostics"][1] == {
        "severity": "error",
        "code": "AIR203",
        "message": UNKNOWN_QUEUE.message,
        "file": "config/queues.yaml",
        "line": 14,
        "col": 18,
        "pointer": "/pools/default/queues/1",
        "hint": UNKNOWN_QUEUE.hint,
    }
    assert document["diagnostics"][0]["hint"] is None
    assert document["diagnostics"][2]["line"] == 0


def test_json_status_ok_with_warnings_only() -> None:
    document = json.loads(render_json(report(NO_LIMIT), color=True))
    assert (document["status"], document["errors"], document["warnings"]) == ("ok", 0, 1)
    assert json.loads(render_json(report())) == {
        "status": "ok",
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
    }


def test_github_annotations() -> None:
    lines = render_github(report(UNKNOWN_QUEUE, NO_LIMIT, MISSING)).splitlines()
    assert lines == [
        "::warning file=config/queues.yaml,line=9,col=3,title=AIR302::task 't' has no time limit",
        "::error file=config/queues.yaml,line=14,col=18,title=AIR203::pool 'default' consumes "
        "queue 'hgh', which is not declared%0Ahint: did you mean 'high'? declared queues: "
        "default, high",
        "::error file=config/schedules.yaml,title=AIR006::cannot read config/schedules.yaml: "
        "does not exist%0Ahint: check the path",
        "2 errors, 1 warning",
    ]


def test_github_escapes_data_and_properties() -> None:
    tricky = Diagnostic(
        severity=Severity.ERROR,
        code="AIR101",
        message="100% wrong\r\nsecond line: a, b",
        file="odd:dir,x/q%.yaml",
        line=1,
        col=2,
        hint="fix: it",
    )
    line = render_github(report(tricky)).splitlines()[0]
    assert line == (
        "::error file=odd%3Adir%2Cx/q%25.yaml,line=1,col=2,title=AIR101::"
        "100%25 wrong%0D%0Asecond line: a, b%0Ahint: fix: it"
    )
    # exactly one annotation line: no raw newline leaked out of the message
    assert len(render_github(report(tricky)).splitlines()) == 2
