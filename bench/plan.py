"""Benchmark `air plan` between two revisions of a 2,000-task config against `air validate` of one.

A temporary git repository holds the generated config of bench/validate.py (2,000 tasks, 500
schedules) in two commits: the second cuts a pool's concurrency, raises the rate limit of every
task that had 30/m and moves a tenth of the schedules to another cron. `air plan --base HEAD~1
--head HEAD` (both revisions read from git, validated, compiled and diffed) and `air validate`
of the head config run interleaved in the same rounds, next to a baseline of the bare
interpreter start with the YAML and schema libraries imported.

    .venv/bin/python bench/plan.py                 # 15 runs; updates docs/benchmarks.md
    .venv/bin/python bench/plan.py --runs 5 --no-docs

Goal (issue 11): plan / validate at most 2.5x. Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
from validate import LARGE, baseline, generate, progress  # noqa: E402

DOCS = common.ROOT / "docs" / "benchmarks.md"
MARKER = "bench:plan"
GOAL = 2.5
PACKAGES = ("air", "PyYAML", "jsonschema", "croniter", "click")
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "air bench",
    "GIT_AUTHOR_EMAIL": "bench@air.invalid",
    "GIT_COMMITTER_NAME": "air bench",
    "GIT_COMMITTER_EMAIL": "bench@air.invalid",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                   capture_output=True)


def change(config: Path) -> None:
    """The second revision: a concurrency cut, new rate limits, some schedules moved."""
    queues = config / "queues.yaml"
    text = queues.read_text(encoding="utf-8")
    text = text.replace("concurrency: 8", "concurrency: 6", 1)
    text = text.replace("rate_limit: 30/m", "rate_limit: 40/m")
    queues.write_text(text, encoding="utf-8")
    schedules = config / "schedules.yaml"
    lines = schedules.read_text(encoding="utf-8").splitlines()
    crons = [i for i, line in enumerate(lines) if line.startswith("    cron: ")]
    for i in crons[::10]:
        lines[i] = '    cron: "*/10 * * * *"'
    schedules.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_repository(workdir: Path, tasks: int, schedules: int) -> Path:
    repo = workdir / "repo"
    generate(repo / "config", tasks, schedules)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated config")
    change(repo / "config")
    git(repo, "commit", "-q", "-am", "a change to review")
    return repo


def commands(repo: Path) -> list[common.Command]:
    air = common.script("air")
    plan = common.Command("air plan", [air, "plan", "--base", "HEAD~1", "--head", "HEAD"],
                          cwd=repo, expect=5)
    validate = common.Command("air validate", [air, "validate", "--config", str(repo / "config")],
                              cwd=repo)
    return [baseline(), plan, validate]


def preflight(plan: common.Command) -> dict[str, int]:
    """The plan must run and find the change (exit 5: a risk flag); returns its summary."""
    _, status, output = common.run_once(plan)
    match = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy; (\d+) risk", output)
    if status != plan.expect or match is None:
        raise common.BenchError(
            f"air plan exited {status}, expected {plan.expect}:\n{output[-2000:]}"
        )
    add, changed, destroy, risks = (int(g) for g in match.groups())
    return {"add": add, "change": changed, "destroy": destroy, "risks": risks}


def table(timings: dict[str, common.Timing]) -> tuple[list[str], list[list[str]], str]:
    base = timings["baseline"].median_ms
    validate = timings["air validate"].median_ms
    rows = [
        [name, f"{t.median_ms:.0f}", f"{t.p90_ms:.0f}", f"{t.median_ms / base:.2f}×",
         f"{t.median_ms / validate:.2f}×"]
        for name, t in timings.items()
    ]
    return ["command", "median ms", "p90 ms", "÷ baseline", "÷ air validate"], rows, "lrrrr"


def render(env: dict[str, Any], runs: int, timings: dict[str, common.Timing],
           summary: dict[str, int], size: tuple[int, int]) -> str:
    ratio = timings["air plan"].median_ms / timings["air validate"].median_ms
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    return "\n\n".join([
        f"- Run: {env['date']}, commit `{env['git']}`, {runs} timed runs per command (+1 "
        f"warm-up round), interleaved round-robin.\n- Machine: {env['cpu']}, {env['nproc']} "
        f"CPUs available, {env['platform']}; load average at start {env['load_average']}.",
        common.markdown_table(*table(timings)),
        f"- Goal: `air plan` ≤ {GOAL}× `air validate` of one revision: **{verdict}** "
        f"({ratio:.2f}×).",
        f"- Config: bench/validate.py's generated {size[0]:,} tasks and {size[1]} schedules in a "
        "temporary git repository, two commits. The change: one pool's concurrency 8 -> 6, "
        "rate limit 30/m -> 40/m on every task that had it, a tenth of the cron schedules to "
        f"`*/10 * * * *`. The plan finds {summary['change']} changes and {summary['risks']} "
        "risk flags (exit 5).\n- `air plan --base HEAD~1 --head HEAD` reads both revisions "
        "with one `git cat-file --batch` each, then loads, validates and compiles both and "
        "diffs every effective setting: about twice the work of `air validate`, which loads "
        "and validates the head config only (no compile). The baseline is "
        "`python -c \"import yaml, jsonschema\"`.",
    ])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (15)")
    return common.parse(parser, argv, runs=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = common.environment(PACKAGES)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AIR_")}
    with tempfile.TemporaryDirectory(prefix="air-bench-plan-") as workdir:
        print(f"generating {LARGE[0]} tasks / {LARGE[1]} schedules in two commits ...",
              file=sys.stderr)
        repo = make_repository(Path(workdir), *LARGE)
        timed = commands(repo)
        summary = preflight(timed[1])
        print(f"timing {len(timed)} commands × {args.runs} runs ...", file=sys.stderr)
        timings = common.measure(timed, args.runs, env=clean, progress=progress)
    print(common.text_table(*table(timings)))
    ratio = timings["air plan"].median_ms / timings["air validate"].median_ms
    print(f"\nair plan / air validate: {ratio:.2f}× (goal ≤ {GOAL}×)")
    section = None if args.no_docs else render(env, args.runs, timings, summary, LARGE)
    common.report("plan", args, env, DOCS, MARKER, section, summary=summary, ratio=ratio,
           timings={name: common.timing_record(t) for name, t in timings.items()})
    return 0


if __name__ == "__main__":
    common.entry_point(main, "plan.py")
