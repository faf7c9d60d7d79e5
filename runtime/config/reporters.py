"""Render a validation report as text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Callable

from runtime.config.diagnostics import Diagnostic, Report, Severity
from runtime.config.redact import redact

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# Characters that end a line, or drive a terminal, somewhere: C0 and C1 controls, DEL, and the
# Unicode line and paragraph separators. User text (keys, values, file names) is printed with
# these escaped, so a key holding a newline cannot forge a line of the report.
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_UNSAFE.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def clean(text: str) -> str:
    """User text made safe to print on one line: passwords masked, control characters and
    line separators escaped (`\\n`, `\\x1b`, `\\u2028`)."""
    return redact(text).translate(_UNSAFE)


# GitHub's own escapes (%0A) already keep line breaks inside an annotation.
_UNSAFE_GITHUB = {c: s for c, s in _UNSAFE.items() if c not in (0x0A, 0x0D)}


def _github_clean(text: str) -> str:
    return redact(text).translate(_UNSAFE_GITHUB)


def summary(report: Report) -> str:
    if not len(report):
        return "no problems"
    return f"{_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')}"


def render_text(report: Report, *, color: bool = False) -> str:
    lines = []
    for d in report:
        where = clean(f"{d.file}:{d.line}:{d.col}" if d.line else d.file)
        severity = d.severity.value
        if color:
            where = f"{_BOLD}{where}{_RESET}"
            severity = f"{_COLORS[d.severity]}{severity}{_RESET}"
        path = f" {clean(d.pointer)}" if d.pointer else ""
        lines.append(f"{where}: {severity} {d.code}{path}: {clean(d.message)}")
        if d.hint:
            hint = f"{_DIM}hint:{_RESET}" if color else "hint:"
            lines.append(f"    {hint} {clean(d.hint)}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def render_json(report: Report, *, color: bool = False) -> str:
    del color
    document = {
        "status": "ok" if report.ok else "fail",
        "errors": report.errors,
        "warnings": report.warnings,
        "diagnostics": [_redacted(d.to_dict()) for d in report],
    }
    return json.dumps(document, indent=2) + "\n"


def _redacted(document: dict[str, object]) -> dict[str, object]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in document.items()}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(d: Diagnostic) -> str:
    props = [f"file={_escape_property(_github_clean(d.file))}"]
    if d.line:
        props += [f"line={d.line}", f"col={d.col}"]
    props.append(f"title={_escape_property(d.code)}")
    message = _github_clean(d.message) + (f"\nhint: {_github_clean(d.hint)}" if d.hint else "")
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
