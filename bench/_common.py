"""Timing helpers shared by the benchmarks in bench/.

Benchmarks here time whole processes (what a user or a pre-commit hook waits for), so a run is
one `subprocess.run` timed with a monotonic wall clock. The machines these run on are noisy, so:

- every command runs N times, and all commands are interleaved round-robin (with the starting
  command rotated each round), so drift in machine load hits every command alike;
- one untimed warm-up round fills the page cache and writes bytecode caches first;
- results are medians (with the 90th percentile next to them), and each benchmark reports ratios
  against a baseline command measured in the same run, which are far more stable than raw times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BIN_DIR = Path(sys.executable).parent  # the venv's bin/: console scripts of this interpreter


class BenchError(RuntimeError):
    """A benchmark cannot produce a trustworthy number (wrong exit status, missing tool...)."""


@dataclass(frozen=True)
class Command:
    """One process to time. `expect` is the exit status every timed run must have."""

    name: str
    argv: Sequence[str]
    cwd: Path = ROOT
    expect: int = 0

    def shell(self) -> str:
        """The command as one would type it, for reports."""
        return " ".join(_shorten(arg) for arg in self.argv)


@dataclass
class Timing:
    command: Command
    seconds: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p90_ms(self) -> float:
        return percentile(self.seconds, 90) * 1000


def script(name: str) -> str:
    """Path of a console script installed next to this interpreter (the venv's), or abort."""
    path = BIN_DIR / name
    if not path.exists():
        raise BenchError(f"{path} not found: install the project with its dev extra in this venv")
    return str(path)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (the same as numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_once(command: Command, env: Mapping[str, str] | None = None) -> tuple[float, int, str]:
    """Run a command to completion: (wall seconds, exit status, combined output)."""
    start = time.perf_counter()
    done = subprocess.run(
        command.argv,
        cwd=command.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    return elapsed, done.returncode, done.stdout.decode("utf-8", "replace")


def measure(
    commands: Sequence[Command],
    runs: int,
    *,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Timing]:
    """Time every command `runs` times, interleaved round-robin; a wrong exit status aborts."""
    timings = {command.name: Timing(command) for command in commands}
    for round_no in range(-warmup, runs):
        offset = round_no % len(commands)
        for command in [*commands[offset:], *commands[:offset]]:
            seconds, status, output = run_once(command, env)
            if status != command.expect:
                raise BenchError(
                    f"{command.name}: `{command.shell()}` exited {status}, expected "
                    f"{command.expect}:\n{output}"
                )
            if round_no >= 0:
                timings[command.name].seconds.append(seconds)
        if progress and round_no >= 0:
            progress(round_no + 1, runs)
    return timings


def summed(name: str, parts: Iterable[Timing]) -> Timing:
    """A pseudo-timing whose run i is the sum of run i of each part (they ran in the same round),
    for a job that takes several processes."""
    parts = list(parts)
    argv = [arg for part in parts for arg in (*part.command.argv, "+")][:-1]
    total = Timing(Command(name, argv))
    total.seconds = [sum(values) for values in zip(*(p.seconds for p in parts), strict=True)]
    return total


def environment(packages: Iterable[str]) -> dict[str, Any]:
    """Machine, interpreter and package versions, for the header of a results section."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    affinity = getattr(os, "sched_getaffinity", None)
    loadavg = getattr(os, "getloadavg", None)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": _git_revision(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
        "cpu": cpu_model(),
        "nproc": len(affinity(0)) if affinity else os.cpu_count(),
        "load_average": [round(x, 2) for x in loadavg()] if loadavg else None,
        "packages": versions,
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def arguments(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line, described by the first paragraph of its docstring; add its
    own options, then parse with `parse`."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0])


class Option(NamedTuple):
    """A numeric option of a benchmark, declared once: its default (an int makes it an int
    option, a float a float one, and its help ends with it) and the least value it takes."""

    flag: str  # "--work-ms"
    default: int | float
    help: str
    least: float | None = None  # None: any value

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


def parse(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *options: Option,
    **minimums: float,
) -> argparse.Namespace:
    """Add `options` and the `--no-docs` switch every benchmark has, parse `argv`, and stop with
    one usage error naming each option below its minimum: an Option's `least`, or one given
    here for an option the caller added itself (`runs=1`: --runs must be at least 1)."""
    for option in options:
        parser.add_argument(
            option.flag,
            type=type(option.default),
            default=option.default,
            help=f"{option.help} ({option.default:g})",
        )
    least = {o.dest: o.least for o in options if o.least is not None}
    minimums = {**least, **minimums}
    parser.add_argument("--no-docs", action="store_true", help="do not update the docs")
    args = parser.parse_args(argv)
    low = [
        f"--{name.replace('_', '-')} must be at least {least}"
        for name, least in minimums.items()
        if getattr(args, name) < least
    ]
    if low:
        parser.error("; ".join(low))
    return args


class Column(NamedTuple):
    """One column of a results table: its header, how a row shows in it, and 'l'/'r' align."""

    header: str
    cell: Callable[[Any], str]
    align: str = "r"


def tabulate(
    columns: Sequence[Column], rows: Iterable[Any]
) -> tuple[list[str], list[list[str]], str]:
    """(headers, body, align) of `rows` in `columns`, for markdown_table and text_table."""
    body = [[column.cell(row) for column in columns] for row in rows]
    return [column.header for column in columns], body, "".join(c.align for c in columns)


def markdown_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None
) -> str:
    """A GitHub-flavoured Markdown table; `align` is one of 'l'/'r' per column."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *([str(cell) for cell in row] for row in rows)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def text_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None
) -> str:
    """The same table padded for a terminal."""
    align = align or "l" * len(headers)
    cells = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ).rstrip()

    return "\n".join([fmt(cells[0]), fmt(["-" * w for w in widths]), *map(fmt, cells[1:])])


def replace_section(path: Path, marker: str, content: str) -> None:
    """Replace the text between `<!-- marker:start -->` and `<!-- marker:end -->` in a Markdown
    file (appending the markers at the end when absent), so a rerun updates its own section."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{start}\n{content.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def write_results(name: str, data: Mapping[str, Any]) -> Path:
    """Raw results as JSON under bench/results/ (git-ignored), one file per run."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def timing_record(timing: Timing) -> dict[str, Any]:
    return {
        "command": timing.command.shell(),
        "median_ms": round(timing.median_ms, 2),
        "p90_ms": round(timing.p90_ms, 2),
        "runs_ms": [round(s * 1000, 2) for s in timing.seconds],
    }


def _shorten(arg: str) -> str:
    """Paths inside the repo relative to it, the venv's scripts by name, temp dirs abbreviated."""
    path = Path(arg)
    if path.is_absolute():
        if path.parent == BIN_DIR:
            return path.name
        try:
            return str(path.relative_to(ROOT))
        except ValueError:
            return arg
    return arg


def report(
    name: str,
    args: Any,
    env: Mapping[str, Any],
    docs: Path,
    marker: str,
    section: str | None,
    **results: Any,
) -> None:
    """Write the raw results (arguments, environment and `results`) and update the docs."""
    data = {"benchmark": name, "arguments": vars(args), "environment": env, **results}
    publish(write_results(name, data), docs, marker, section)


def publish(path: Path, docs: Path, marker: str, section: str | None) -> None:
    """Say where the raw results went; rewrite the docs section unless `section` is None."""
    print(f"\nraw results: {path.relative_to(ROOT)}")
    if section is not None:
        replace_section(docs, marker, section)
        print(f"updated {docs.relative_to(ROOT)}")


def entry_point(main: Callable[[], int], name: str) -> None:
    """Run a benchmark's main(): a BenchError is one line and exit 1, Ctrl-C exit 130 (the
    worker benchmarks stop every process they started on the way out)."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/{name}: ABORTED: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"bench/{name}: interrupted; every process it started is stopped", file=sys.stderr)
        sys.exit(130)
