"""Render a validation report as text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Callable

from runtime.config.diagnostics import Diagnostic, Report, Severity

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(report: Report) -> str:
    if not len(report):
        return "no problems"
    return f"{_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')}"


def render_text(report: Report, *, color: bool = False) -> str:
    lines = []
    for d in report:
        where = f"{d.file}:{d.line}:{d.col}" if d.line else d.file
        severity = d.severity.value
        if color:
            where = f"{_BOLD}{where}{_RESET}"
            severity = f"{_COLORS[d.severity]}{severity}{_RESET}"
        path = f" {d.pointer}" if d.pointer else ""
        lines.append(f"{where}: {severity} {d.code}{path}: {d.message}")
        if d.hint:
            hint = f"{_DIM}hint:{_RESET}" if color else "hint:"
            lines.append(f"    {hint} {d.hint}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def render_json(report: Report, *, color: bool = False) -> str:
    del color
    document = {
        "status": "ok" if report.ok else "fail",
        "errors": report.errors,
        "warnings": report.warnings,
        "diagnostics": [d.to_dict() for d in report],
    }
    return json.dumps(document, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(d: Diagnostic) -> str:
    props = [f"file={_escape_property(d.file)}"]
    if d.line:
        props += [f"line={d.line}", f"col={d.col}"]
    props.append(f"title={_escape_property(d.code)}")
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return f"::{d.severity.value} {','.join(props)}::{_escape_data(message)}"


def render_github(report: Report, *, color: bool = False) -> str:
    del color
    lines = [_annotation(d) for d in report]
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


REPORTERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
}
