"""Benchmark `air validate`: the shipped config and generated configs of growing size.

Every figure is the median wall time of whole processes, with all commands interleaved in the
same run and compared with a baseline measured alongside them: `python -c "import yaml,
jsonschema"`, the least a Python YAML + JSON Schema validator can cost. check-jsonschema
validating the same files against the same schemas is the reference tool.

    .venv/bin/python bench/validate.py                     # 15 runs; updates docs/benchmarks.md
    .venv/bin/python bench/validate.py --runs 5 --sizes 500,2000 --no-docs
    .venv/bin/python bench/validate.py --profile            # where the time goes, no timing

Targets (issue 2): the shipped config under 150 ms, 2,000 tasks / 500 schedules under 1 s, and
linear growth. Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)

DOCS = common.ROOT / "docs" / "benchmarks.md"
MARKER = "bench:validate"
SCHEMAS = {
    "queues": common.ROOT / "runtime/config/schemas/queues.schema.json",
    "schedules": common.ROOT / "runtime/config/schemas/schedules.schema.json",
}
PACKAGES = ("air", "PyYAML", "jsonschema", "check-jsonschema", "ruamel.yaml", "croniter", "click")
SHIPPED_TARGET_MS = 150
LARGE = (2000, 500)  # the large case: tasks, schedules
LARGE_TARGET_MS = 1000
LINEAR_TOLERANCE = 1.5  # the largest step may cost this much more per task than the first one


# --- generated configs ----------------------------------------------------------------------

# Queue name -> (priority, time limits to pick from, rate limits, retry override or None).
QUEUE_PROFILES: dict[str, tuple[int, list[tuple[str, str]], list[str], str | None]] = {
    "critical": (
        10,
        [("15s", "30s"), ("30s", "60s")],
        ["60/m"],
        "{max: 5, initial: 1s, max_delay: 30s}",
    ),
    "realtime": (8, [("30s", "60s")], ["120/m", "10/s"], "{max: 3, initial: 2s, max_delay: 1m}"),
    "ai": (
        7,
        [("1m", "2m"), ("2m", "3m"), ("3m", "4m")],
        ["10/m", "20/m"],
        "{max: 3, initial: 5s, max_delay: 2m, errors: [TimeoutError, tasks.errors.Throttled]}",
    ),
    "default": (5, [("1m", "2m"), ("5m", "6m"), ("10m", "12m")], ["30/m"], None),
    "sync": (4, [("10m", "12m")], ["10/m"], "{max: 5, initial: 30s, max_delay: 10m}"),
    "pipeline": (
        3,
        [("30m", "35m"), ("45m", "50m")],
        [],
        "{max: 2, backoff: fixed, initial: 1m, max_delay: 10m}",
    ),
    "reports": (2, [("20m", "25m")], ["100/h"], None),
    "low": (1, [("30m", "35m")], [], "{max: 1, backoff: none}"),
}
# How often each queue is picked for a task: most work is ordinary, little is critical.
QUEUE_WEIGHTS = (
    ["default"] * 5
    + ["sync"] * 3
    + ["ai"] * 2
    + ["pipeline"] * 2
    + ["critical", "realtime", "reports", "low"]
)
DOMAINS = ["auth", "billing", "contacts", "crm", "ai", "sync", "notify", "ops", "data", "search"]
VERBS = ["refresh", "process", "score", "export", "import", "notify", "sync", "cleanup", "index"]
POOLS = """\
pools:
  critical: {queues: [critical, realtime], concurrency: 4, max_tasks_per_child: 100}
  default:
    queues: [default]
    concurrency: 8
    max_tasks_per_child: 200
    max_memory_per_child: 512MiB
  ai:       {queues: [ai], autoscale: {min: 1, max: 4}, max_tasks_per_child: 50}
  sync:     {queues: [sync], concurrency: 6, prefetch_multiplier: 1}
  pipeline: {queues: [pipeline, reports], concurrency: 2, max_memory_per_child: 2GiB}
  low:      {queues: [low], concurrency: 1, max_tasks_per_child: 50}
"""
HEADER = """\
version: 1
imports: [tasks]
broker:
  url: ${AIR_BROKER_URL:-redis://127.0.0.1:6379/0}
  result_backend: ${AIR_RESULT_BACKEND:-redis://127.0.0.1:6379/1}
  visibility_timeout: 2h
  result_expires: 1d
defaults:
  queue: default
  acks_late: true
  time_limit: {soft: 5m, hard: 6m}
  retry: {max: 3, backoff: exponential, initial: 2s, max_delay: 10m, jitter: true}
"""
# Cron expressions and intervals with a lower bound of their period in seconds (23 h for daily
# ones: a daylight-saving day), so the generator can set `overlap: skip` where runs could pile up.
# `{m}` staggers the minute, as large deployments do to spread load over the hour.
CRONS = [
    ("*/5 * * * *", 300),
    ("{m} * * * *", 3600),
    ("*/15 * * * *", 900),
    ("{m} */6 * * *", 5 * 3600),
    ("{m} 3 * * *", 23 * 3600),
    ("{m} 4 * * 1-5", 23 * 3600),
    ("{m} 0 1 * *", 27 * 86400),
    ("@daily", 23 * 3600),
    ("{m} 5 * * 0", 6 * 86400),
]
EVERY = [("30s", 30), ("5m", 300), ("15m", 900), ("1h", 3600), ("90", 90)]
TIMEZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Task:
    name: str
    queue: str
    hard_seconds: int


def seconds(duration: str) -> int:
    return int(duration[:-1]) * SECONDS[duration[-1]]


def make_task(i: int) -> tuple[Task, str]:
    """Task number i and its YAML: a deterministic mix of every policy key."""
    queue = QUEUE_WEIGHTS[i % len(QUEUE_WEIGHTS)]
    priority, limits, rates, retry = QUEUE_PROFILES[queue]
    soft, hard = limits[i % len(limits)]
    name = f"{DOMAINS[i % len(DOMAINS)]}.{VERBS[i % len(VERBS)]}_{i:05d}"
    lines = [f"  {name}:"]
    if i % 2 == 0:
        lines.append(f"    description: Generated task {i} on {queue}.")
    if queue != "default" or i % 2:
        lines.append(f"    queue: {queue}")
    if i % 10 == 3:
        lines.append(f"    priority: {min(10, priority + 1)}")
    lines.append(f"    time_limit: {{soft: {soft}, hard: {hard}}}")
    if rates and i % 3 == 0:
        lines.append(f"    rate_limit: {rates[i % len(rates)]}")
    if retry and i % 4 != 1:
        lines.append(f"    retry: {retry}")
    if queue == "pipeline" and i % 7 == 0:
        lines.append("    expires: 1h")
    if i % 25 == 0:
        lines.append("    dead_letter: false")
    return Task(name, queue, seconds(hard)), "\n".join(lines)


def make_schedule(j: int, task: Task) -> str:
    """Schedule number j for `task`: cron or every, some with a time zone or queue override."""
    lines = [f"  {task.name.replace('.', '-').replace('_', '-')}-s{j}:", f"    task: {task.name}"]
    if j % 5 < 3:
        expression, period = CRONS[j % len(CRONS)]
        lines.append(f'    cron: "{expression.format(m=j * 7 % 60)}"')
    else:
        interval, period = EVERY[j % len(EVERY)]
        lines.append(f"    every: {interval}")
    if j % 6 == 0:
        lines.append(f"    timezone: {TIMEZONES[j % len(TIMEZONES)]}")
    if period < 2 * task.hard_seconds or j % 3 == 0:
        lines.append("    overlap: skip")
    if j % 10 == 5:
        lines.append("    queue: low")
    if j % 4 == 0:
        lines.append("    args: [full]\n    kwargs: {batch_size: 500}")
    if j % 15 == 0:
        lines.append("    priority: 6")
    if j % 20 == 7:
        lines.append("    enabled: false")
    if j % 2 == 0:
        lines.append(f"    description: Generated schedule {j}.")
    return "\n".join(lines)


def generate(directory: Path, tasks: int, schedules: int) -> Path:
    """Write queues.yaml and schedules.yaml with `tasks` tasks and `schedules` schedules."""
    directory.mkdir(parents=True, exist_ok=True)
    made = [make_task(i) for i in range(tasks)]
    queues = "\n".join(
        f'  {name}: {{priority: {spec[0]}, description: "{name} work"}}'
        for name, spec in QUEUE_PROFILES.items()
    )
    (directory / "queues.yaml").write_text(
        f"# yaml-language-server: $schema={SCHEMAS['queues']}\n{HEADER}queues:\n{queues}\n"
        f"{POOLS}tasks:\n" + "\n".join(text for _, text in made) + "\n",
        encoding="utf-8",
    )
    # A step of 7 spreads the scheduled tasks over every queue (QUEUE_WEIGHTS has 16 entries).
    entries = [make_schedule(j, made[(j * 7 + 3) % tasks][0]) for j in range(schedules)]
    (directory / "schedules.yaml").write_text(
        f"# yaml-language-server: $schema={SCHEMAS['schedules']}\nversion: 1\ntimezone: UTC\n"
        "schedules:\n" + "\n".join(entries) + "\n",
        encoding="utf-8",
    )
    return directory


# --- what to time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    label: str
    directory: Path
    tasks: int
    schedules: int
    generated: bool
    warnings: int = 0
    cjs_status: tuple[int, int] = (0, 0)  # check-jsonschema exit status: queues, schedules

    def air(self) -> common.Command:
        return common.Command(
            f"air {self.label}", [common.script("air"), "validate", "--config", str(self.directory)]
        )

    def cjs(self, kind: str) -> common.Command:
        expect = self.cjs_status[0 if kind == "queues" else 1]
        return common.Command(
            f"cjs-{kind} {self.label}",
            [
                common.script("check-jsonschema"),
                "--schemafile",
                str(SCHEMAS[kind]),
                str(self.directory / f"{kind}.yaml"),
            ],
            expect=expect,
        )


def baseline() -> common.Command:
    return common.Command("baseline", [sys.executable, "-c", "import yaml, jsonschema"])


def count_config(directory: Path) -> tuple[int, int]:
    """Tasks and schedules of a config, read with the same libraries air uses."""
    import yaml

    queues = yaml.safe_load((directory / "queues.yaml").read_text(encoding="utf-8"))
    schedules = yaml.safe_load((directory / "schedules.yaml").read_text(encoding="utf-8"))
    return len(queues.get("tasks") or {}), len(schedules.get("schedules") or {})


def preflight(case: Case) -> Case:
    """Prove the config is valid to air (exit 0, no errors, else abort) and record what
    check-jsonschema says about it, before timing anything."""
    command = common.Command("check", [*case.air().argv, "--format", "json"])
    _, status, output = common.run_once(command)
    try:
        report = json.loads(output)
    except json.JSONDecodeError as exc:
        raise common.BenchError(
            f"air validate --format json printed no JSON for {case.label}:\n{output}"
        ) from exc
    if status != 0 or report.get("errors"):
        problems = "\n".join(
            f"  {d.get('file')}:{d.get('line')}: {d.get('code')} {d.get('message')}"
            for d in report.get("diagnostics", [])
            if d.get("severity") == "error"
        )
        raise common.BenchError(
            f"the {case.label} config is not valid (exit {status}, "
            f"{report.get('errors')} errors):\n{problems}"
        )
    statuses = (common.run_once(case.cjs("queues"))[1], common.run_once(case.cjs("schedules"))[1])
    return replace(case, warnings=int(report.get("warnings", 0)), cjs_status=statuses)


def cases(sizes: Sequence[int], workdir: Path) -> list[Case]:
    shipped = common.ROOT / "config"
    found = [Case("shipped", shipped, *count_config(shipped), generated=False)]
    for tasks in sizes:
        schedules = tasks // 4
        directory = generate(workdir / f"t{tasks}", tasks, schedules)
        found.append(Case(f"{tasks}t/{schedules}s", directory, tasks, schedules, generated=True))
    return [preflight(case) for case in found]


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    what: str
    case: Case | None
    timing: common.Timing


def collect(all_cases: Sequence[Case], timings: dict[str, common.Timing]) -> list[Row]:
    rows = [Row("baseline", None, timings["baseline"])]
    rows += [Row("air validate", case, timings[f"air {case.label}"]) for case in all_cases]
    rows += [
        Row(
            "check-jsonschema ×2",
            case,
            common.summed(
                f"cjs {case.label}",
                (timings[f"cjs-queues {case.label}"], timings[f"cjs-schedules {case.label}"]),
            ),
        )
        for case in all_cases
    ]
    return rows


def per_1000(row: Row) -> str:
    if row.case is None or not row.case.generated:
        return ""
    return f"{row.timing.median_ms / row.case.tasks * 1000:.0f}"


def main_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]], str]:
    base = rows[0].timing.median_ms
    headers = [
        "command",
        "config",
        "tasks / schedules",
        "median ms",
        "p90 ms",
        "× baseline",
        "ms / 1000 tasks",
    ]
    body = [
        [
            row.what,
            row.case.label if row.case else "—",
            f"{row.case.tasks} / {row.case.schedules}" if row.case else "—",
            f"{row.timing.median_ms:.0f}",
            f"{row.timing.p90_ms:.0f}",
            f"{row.timing.median_ms / base:.2f}",
            per_1000(row),
        ]
        for row in rows
    ]
    return headers, body, "lllrrrr"


def growth(rows: Sequence[Row], what: str) -> list[tuple[int, float]]:
    """(tasks, marginal ms per 1000 tasks) from each size to the next, starting at the shipped
    config: constant when the cost grows linearly with the config."""
    points = [(r.case.tasks, r.timing.median_ms) for r in rows if r.what == what and r.case]
    return [
        (b[0], (b[1] - a[1]) / (b[0] - a[0]) * 1000)
        for a, b in zip(points, points[1:], strict=False)
        if b[0] > a[0]
    ]


def growth_table(rows: Sequence[Row]) -> tuple[list[str], list[list[str]], str]:
    air, cjs = growth(rows, "air validate"), growth(rows, "check-jsonschema ×2")
    previous = ["shipped"] + [f"{n}" for n, _ in air[:-1]]
    body = [
        [f"{start} → {n} tasks", f"{a:.0f}", f"{c:.0f}"]
        for start, (n, a), (_, c) in zip(previous, air, cjs, strict=True)
    ]
    return (
        [
            "step",
            "air validate: ms per extra 1000 tasks",
            "check-jsonschema: ms per extra 1000 tasks",
        ],
        body,
        "lrr",
    )


def verdicts(rows: Sequence[Row]) -> list[str]:
    air = {row.case.label: row for row in rows if row.what == "air validate" and row.case}
    found = []
    shipped = air["shipped"].timing.median_ms
    found.append(
        _verdict(
            shipped < SHIPPED_TARGET_MS,
            f"shipped config: {shipped:.0f} ms (target < {SHIPPED_TARGET_MS} ms)",
        )
    )
    large = next((r for r in air.values() if (r.case.tasks, r.case.schedules) == LARGE), None)
    if large:
        ms = large.timing.median_ms
        found.append(
            _verdict(
                ms < LARGE_TARGET_MS,
                f"{LARGE[0]} tasks / {LARGE[1]} schedules: "
                f"{ms:.0f} ms (target < {LARGE_TARGET_MS} ms)",
            )
        )
    steps = growth(rows, "air validate")
    if len(steps) >= 3:  # the first step starts at the shipped config; compare generated ones
        first, last = steps[1][1], steps[-1][1]
        found.append(
            _verdict(
                last <= first * LINEAR_TOLERANCE,
                f"growth: {first:.0f} then {last:.0f} ms per extra 1000 tasks "
                f"(linear if the later step costs at most {LINEAR_TOLERANCE}× "
                f"the earlier)",
            )
        )
    return found


def _verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'} — {text}"


def header_lines(env: dict[str, Any], runs: int) -> list[str]:
    packages = env["packages"]
    return [
        f"- Run: {env['date']}, commit `{env['git']}`, {runs} timed runs per command "
        "(+1 warm-up round), interleaved round-robin.",
        f"- Machine: {env['cpu']}, {env['nproc']} CPUs available, {env['platform']}; "
        f"load average at start {env['load_average']}.",
        f"- Python {env['python']}; air {packages['air']}; PyYAML {packages['PyYAML']} "
        f"(libyaml C loader: {'yes' if env['libyaml'] else 'no'}); jsonschema "
        f"{packages['jsonschema']}; check-jsonschema {packages['check-jsonschema']} "
        f"(ruamel.yaml {packages['ruamel.yaml']}, C loader: "
        f"{'yes' if env['ruamel_libyaml'] else 'no'}); croniter {packages['croniter']}; "
        f"click {packages['click']}.",
    ]


def speedups(rows: Sequence[Row]) -> str:
    air = {r.case.label: r.timing.median_ms for r in rows if r.what == "air validate" and r.case}
    cjs = {
        r.case.label: r.timing.median_ms
        for r in rows
        if r.what.startswith("check-jsonschema") and r.case
    }
    return ", ".join(f"{label} {cjs[label] / air[label]:.1f}×" for label in air)


def notes(rows: Sequence[Row], all_cases: Sequence[Case]) -> list[str]:
    failing = [
        f"{case.label} (exit {case.cjs_status[0]} / {case.cjs_status[1]})"
        for case in all_cases
        if any(case.cjs_status)
    ]
    warned = ", ".join(f"{case.label}: {case.warnings}" for case in all_cases)
    status = (
        "check-jsonschema exited non-zero on: " + "; ".join(failing)
        if failing
        else "check-jsonschema exited 0 on every file, the shipped ones included: "
        "`${AIR_BROKER_URL:-...}` is not expanded, but it is still a string, which is "
        "all the schema asks of `broker.url`."
    )
    return [
        "- `air validate` does everything: YAML with positions, `${VAR:-default}` expansion, "
        "both schemas, the model and every semantic rule (references, limits against the "
        "visibility timeout, cron and time zones, pile-up). Every config above validates with "
        f"exit 0 and no errors (warnings: {warned}).",
        f"- check-jsonschema takes this many times as long as `air validate`: {speedups(rows)}.",
        '- "ms / 1000 tasks" divides the whole process time by the size, so it includes the '
        "fixed start-up cost and falls as configs grow; the growth table subtracts consecutive "
        "sizes, which cancels start-up and shows the cost of each extra task.",
        "- check-jsonschema is two processes "
        "(`--schemafile runtime/config/schemas/queues.schema.json "
        "queues.yaml`, then the same for schedules), reported as their sum, run by run. It "
        "checks the schema only: no semantic rules, no line and column for YAML instances, no "
        "environment interpolation. It loads YAML with ruamel.yaml (YAML 1.2, safe mode), in "
        "pure Python here since no C extension for ruamel.yaml is installed.",
        f"- {status}",
        "- Generated configs: 8 queues, 6 pools (one autoscaled, two consuming two queues), "
        "tasks with time limits, rate limits on a third, retry overrides, expiry, priority and "
        "dead-letter overrides; schedules 3/5 cron and 2/5 `every`, a sixth with their own time "
        "zone, `overlap: skip` wherever runs could pile up, queue overrides, args, disabled "
        "entries. Written to a temporary directory by `generate()` in bench/validate.py.",
    ]


def render(env: dict[str, Any], runs: int, rows: Sequence[Row], all_cases: Sequence[Case]) -> str:
    parts = ["\n".join(header_lines(env, runs)), common.markdown_table(*main_table(rows))]
    if len(growth(rows, "air validate")) > 1:
        parts.append(
            "Growth, from each size to the next (constant = linear):\n\n"
            + common.markdown_table(*growth_table(rows))
        )
    parts.append("Targets:\n\n" + "\n".join(f"- {v}" for v in verdicts(rows)))
    parts.append("Notes:\n\n" + "\n".join(notes(rows, all_cases)))
    return "\n\n".join(parts)


def results(
    env: dict[str, Any], runs: int, rows: Sequence[Row], all_cases: Sequence[Case]
) -> dict[str, Any]:
    return {
        "benchmark": "validate",
        "runs": runs,
        "environment": env,
        "cases": [
            {
                "label": c.label,
                "tasks": c.tasks,
                "schedules": c.schedules,
                "warnings": c.warnings,
                "check_jsonschema_status": c.cjs_status,
            }
            for c in all_cases
        ],
        "rows": [
            {
                "what": r.what,
                "config": r.case.label if r.case else None,
                **common.timing_record(r.timing),
            }
            for r in rows
        ],
        "verdicts": verdicts(rows),
    }


# --- profile -------------------------------------------------------------------------------


def import_profile(directory: Path) -> list[tuple[str, float]]:
    """`python -X importtime` of one `air validate`: self time summed per top-level package."""
    command = common.Command(
        "importtime",
        [
            sys.executable, "-X", "importtime", common.script("air"), "validate",
            "--config", str(directory),
        ],
    )
    _, _, output = common.run_once(command)
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("import time:") and "|" in line:
            own, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
            if own.isdigit():
                top = name.split(".")[0]
                totals[top] = totals.get(top, 0.0) + int(own) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])


def call_profile(directory: Path, top: int = 25) -> str:
    """cProfile of one cold in-process runtime.config.validate.validate() call (cProfile inflates
    call-heavy code such as croniter's; read the shares, not the absolute times)."""
    import cProfile
    import io
    import pstats

    from runtime.config.validate import validate

    profiler = cProfile.Profile()
    profiler.runcall(validate, directory)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def profile(all_cases: Sequence[Case]) -> None:
    """Imports do not depend on the config (checked: the same packages load for every size),
    so they are shown for the shipped config; the calls for the largest one."""
    ranked = import_profile(all_cases[0].directory)
    print(
        f"== imports of `air validate` (-X importtime, self ms per top-level package; total "
        f"{sum(ms for _, ms in ranked):.0f} ms, inflated by the instrumentation)"
    )
    top = [(name, f"{ms:.1f}") for name, ms in ranked[:20]]
    print(common.text_table(["package", "ms"], top, "lr"))
    print(f"\n== cProfile of runtime.config.validate.validate() on {all_cases[-1].label}")
    print(call_profile(all_cases[-1].directory))


# --- main -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (15)")
    parser.add_argument(
        "--sizes",
        default="500,1000,2000",
        help="task counts of the generated configs, comma-separated; each gets "
        "a quarter as many schedules (500,1000,2000)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, show where `air validate` spends its time on "
        "the shipped and the largest config (imports and cProfile)",
    )
    args = common.parse(parser, argv, runs=1)
    try:
        args.sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    except ValueError:
        parser.error(f"--sizes: not a comma-separated list of integers: {args.sizes!r}")
    if any(size < 4 for size in args.sizes):
        parser.error("--sizes: every size must be at least 4")
    return args


def environment_info() -> dict[str, Any]:
    import ruamel.yaml
    import yaml

    env = common.environment(PACKAGES)
    env["libyaml"] = bool(getattr(yaml, "__with_libyaml__", False))
    env["ruamel_libyaml"] = bool(getattr(ruamel.yaml, "__with_libyaml__", False))
    return env


def progress(done: int, total: int) -> None:
    print(
        f"\r  round {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = environment_info()
    with tempfile.TemporaryDirectory(prefix="air-bench-") as workdir:
        print(f"generating configs {args.sizes} and checking them ...", file=sys.stderr)
        all_cases = cases(args.sizes, Path(workdir))
        if args.profile:
            profile(all_cases)
            return 0
        commands = [baseline()] + [
            c for case in all_cases for c in (case.air(), case.cjs("queues"), case.cjs("schedules"))
        ]
        print(f"timing {len(commands)} commands × {args.runs} runs ...", file=sys.stderr)
        timings = common.measure(commands, args.runs, progress=progress)
    rows = collect(all_cases, timings)
    print(common.text_table(*main_table(rows)))
    if len(growth(rows, "air validate")) > 1:
        print("\n" + common.text_table(*growth_table(rows)))
    print("\n" + "\n".join(verdicts(rows)))
    path = common.write_results("validate", results(env, args.runs, rows, all_cases))
    section = None if args.no_docs else render(env, args.runs, rows, all_cases)
    common.publish(path, DOCS, MARKER, section)
    return 0


if __name__ == "__main__":
    common.entry_point(main, "validate.py")
