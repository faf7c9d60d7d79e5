"""Diagnostics: what validation found, where, and how to fix it."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding, tied to a file position and a JSON Pointer into that file's data."""

    severity: Severity
    code: str
    message: str
    file: str
    line: int = 0  # 1-based; 0 when the finding concerns the whole file
    col: int = 0
    pointer: str = ""
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.code, self.pointer)

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "pointer": self.pointer,
            "hint": self.hint,
        }


# Stable codes. Blocks: 0xx YAML and files, 1xx schema, 2xx references, 3xx limits,
# 4xx schedules, 5xx broker and security. Tests assert codes, never wording.
CODES: dict[str, str] = {
    "AIR001": "YAML syntax error",
    "AIR002": "duplicate mapping key",
    "AIR003": "tag outside YAML's core schema",
    "AIR004": "alias expansion too large or recursive",
    "AIR005": "environment variable is not set and has no default",
    "AIR006": "file not found or unreadable",
    "AIR007": "file is empty",
    "AIR008": "more than one YAML document in a file",
    "AIR009": "malformed ${...} interpolation",
    "AIR010": "mapping key is not a string",
    "AIR011": "YAML nested too deeply",
    "AIR101": "unknown key",
    "AIR102": "missing required key",
    "AIR103": "wrong type",
    "AIR104": "value is not one of the allowed choices",
    "AIR105": "number out of range",
    "AIR106": "malformed value (duration, rate, name or pattern)",
    "AIR107": "value does not match the schema",
    "AIR108": "unsupported config version",
    "AIR201": "unknown queue",
    "AIR202": "unknown task",
    "AIR203": "pool consumes an undeclared queue",
    "AIR204": "queue is not consumed by any pool",
    "AIR206": "queue is declared but nothing routes to it",
    "AIR207": "a module under imports cannot be imported (--strict)",
    "AIR208": "task registered in code but missing from the config, or the reverse (--strict)",
    "AIR209": "a retry error class cannot be imported (--strict)",
    "AIR210": "unknown workflow",
    "AIR230": "a workflow step cannot take the previous step's result (--strict)",
    "AIR301": "soft time limit is not below the hard time limit",
    "AIR302": "time limit is not below the broker visibility timeout",
    "AIR303": "retry delay is not below the broker visibility timeout",
    "AIR304": "retry initial delay exceeds max_delay",
    "AIR305": "time limits are ignored by a threads pool",
    "AIR306": "autoscale minimum exceeds maximum",
    "AIR308": "duration must be greater than zero",
    "AIR309": "replicas minimum exceeds maximum",
    "AIR310": "queue SLO max_wait is too short to measure",
    "AIR320": "unique claim shorter than the task's time limit",
    "AIR340": "a workflow's longest run reaches the visibility timeout",
    "AIR341": "a workflow step runs a unique task (a held claim would stop the run silently)",
    "AIR311": "pool processes do not split its concurrency evenly",
    "AIR312": "an at_most_once queue carries tasks with retries",
    "AIR401": "invalid cron expression",
    "AIR402": "unknown time zone",
    "AIR403": "schedule can pile up runs",
    "AIR404": "cron expression never fires",
    "AIR405": "schedule period is shorter than a second",
    "AIR406": "cron fire time falls in an hour daylight saving skips or repeats",
    "AIR408": "jitter not shorter than the schedule's period",
    "AIR409": "catch-up window spans too many fires",
    "AIR410": "a workflow schedule sets queue, priority, args or kwargs",
    "AIR501": "plaintext password in a broker URL",
    "AIR502": "unsupported broker URL scheme",
    "AIR503": "broker URL port or database out of range",
    "AIR504": "sentinel:// URL without broker.sentinel",
}


@dataclass(slots=True)
class Report:
    """Every diagnostic from one validation run, sorted for output."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self.diagnostics.extend(items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(sorted(self.diagnostics, key=Diagnostic.sort_key))

    def __len__(self) -> int:
        return len(self.diagnostics)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def error(code: str, message: str, **where: object) -> Diagnostic:
    return Diagnostic(severity=Severity.ERROR, code=code, message=message, **where)  # type: ignore[arg-type]


def warning(code: str, message: str, **where: object) -> Diagnostic:
    return Diagnostic(severity=Severity.WARNING, code=code, message=message, **where)  # type: ignore[arg-type]
