"""Benchmark worker start-up: from launching the worker process to its first task starting.

One task is already queued when the worker is launched; the task records `time.time()` as its
first statement, the benchmark recorded `time.time()` just before the fork: the difference is
what an operator waits for after `air run` (or a restart by `air up`) before work flows again.
Every worker is a prefork pool of the same size on the same private redis-server; runs are
interleaved round-robin with the starting worker rotated each round.

- `air run POOL`: air's worker, started in-process (no `celery` CLI), mingle and gossip off;
- `celery -A runtime.celeryapp.app worker ...`: the command `air run POOL --dry-run` prints,
  i.e. the same compiled options through the celery CLI (shows what the in-process start saves);
- `celery -A bench.peers.plain_app worker`: plain Celery with its defaults (mingle and gossip on);
- the same with `--without-mingle --without-gossip` (shows what those two cost).

    .venv/bin/python bench/startup.py                  # 7 runs; updates docs/benchmarks.md
    .venv/bin/python bench/startup.py --runs 3 --no-docs

Target (issue 3): air's median launch-to-first-task <= 0.5 s (Celery's default ~1.4 s).
Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import _workers as workers  # noqa: E402

MARKER = "bench:startup"
TARGET_S = 0.5
ISSUE_CELERY_S = 1.4


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    system: str  # whose app sends the first task: air | celery


VARIANTS = (
    Variant("air", "air run bench-cN", "air"),
    Variant(
        "air-cli",
        "celery -A runtime.celeryapp.app worker (air's flags, `air run --dry-run`)",
        "air",
    ),
    Variant("celery", "celery -A bench.peers.plain_app worker (defaults)", "celery"),
    Variant("celery-lean", "the same, --without-mingle --without-gossip", "celery"),
)


@dataclass
class Setup(workers.OnBench):
    bench: workers.Bench
    concurrency: int
    apps: dict[str, Any]

    def argv(self, variant: Variant) -> list[str]:
        pool = f"bench-c{self.concurrency}"
        if variant.key == "air":
            return workers.air_run_argv(self.config_dir, pool)
        if variant.key == "air-cli":
            return workers.air_celery_argv(self.config_dir, pool)
        lean = ("--without-mingle", "--without-gossip") if variant.key == "celery-lean" else ()
        return workers.plain_argv(["bench"], self.concurrency, *lean)


def run_once(setup: Setup, variant: Variant, run_no: int) -> dict[str, Any]:
    broker = setup.broker
    broker.reset()
    app = setup.apps[variant.system]
    options = {} if variant.system == "air" else {"queue": "bench"}
    app.send_task("bench.mark", args=[f"{variant.key}-{run_no}", 0.0], **options)
    if broker.queued("bench") != 1:
        raise common.BenchError(f"{variant.key}: the first task is not queued")
    log = setup.logs / f"{variant.key}-{run_no}.log"
    worker = workers.WorkerProcess(variant.key, setup.argv(variant), setup.env, log)
    try:
        worker.start()
        assert broker.client is not None
        workers.wait_for(
            lambda: broker.client.llen(workers.STARTS) >= 1, 60, "the first task", worker
        )  # type: ignore[union-attr]
        started = broker.starts()[0]["start"]
    finally:
        worker.stop()
    return {
        "variant": variant.key,
        "run": run_no,
        "seconds": started - worker.launched,
        "warm_shutdown_escalated": worker.escalated,
    }


def measure(setup: Setup, runs: int, warmup: int) -> list[dict[str, Any]]:
    records = []
    for round_no in range(-warmup, runs):
        offset = round_no % len(VARIANTS)
        for variant in [*VARIANTS[offset:], *VARIANTS[:offset]]:
            record = run_once(setup, variant, round_no)
            if round_no >= 0:
                records.append(record)
        if round_no >= 0:
            print(f"  round {round_no + 1}/{runs}", file=sys.stderr, flush=True)
    return records


# --- reporting --------------------------------------------------------------------------------


def summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for variant in VARIANTS:
        values = [r["seconds"] for r in records if r["variant"] == variant.key]
        rows.append(
            {
                "variant": variant.key,
                "label": variant.label,
                "median_s": statistics.median(values),
                "p90_s": common.percentile(values, 90),
                "min_s": min(values),
                "runs_s": values,
            }
        )
    celery = next(r for r in rows if r["variant"] == "celery")["median_s"]
    for row in rows:
        row["vs_celery"] = row["median_s"] / celery
    return rows


def table(rows: list[dict[str, Any]], concurrency: int) -> tuple[list[str], list[list[str]], str]:
    columns = [
        common.Column(
            "worker", lambda row: row["label"].replace("bench-cN", f"bench-c{concurrency}"), "l"
        ),
        common.Column("median s", lambda row: f"{row['median_s']:.2f}"),
        common.Column("p90 s", lambda row: f"{row['p90_s']:.2f}"),
        common.Column("min s", lambda row: f"{row['min_s']:.2f}"),
        common.Column("× Celery defaults", lambda row: f"{row['vs_celery']:.2f}"),
    ]
    return common.tabulate(columns, rows)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    by_key = {row["variant"]: row for row in rows}
    air, celery = by_key["air"]["median_s"], by_key["celery"]["median_s"]
    return [
        f"{'PASS' if air <= TARGET_S else 'FAIL'} — air: median {air:.2f} s from launch to the "
        f"first task (target <= {TARGET_S} s); Celery defaults {celery:.2f} s here "
        f"(issue 3 quotes ~{ISSUE_CELERY_S} s)."
    ]


def notes(rows: list[dict[str, Any]]) -> list[str]:
    m = {row["variant"]: row["median_s"] for row in rows}
    return [
        "Measured: `time.time()` in the benchmark just before the fork, to `time.time()` as "
        "the first statement of the queued task. It covers interpreter start, imports, config "
        "load and validation (air), connecting to Redis, starting the pool processes, and "
        "fetching and dispatching the task.",
        f"Mingle and gossip cost {m['celery'] - m['celery-lean']:.2f} s of Celery's default "
        "start (defaults minus `--without-mingle --without-gossip`): mingle waits for "
        "replies from other workers even when there are none.",
        f"Starting the worker in-process instead of through the `celery` CLI saves "
        f"{m['air-cli'] - m['air']:.2f} s (`celery -A runtime.celeryapp.app worker` "
        "with air's flags "
        "minus `air run`).",
    ]


def render(
    env: dict[str, Any], args: argparse.Namespace, rows: list[dict[str, Any]], warmup: int
) -> str:
    extra = (
        f"prefork pool of {args.concurrency}, {args.runs} timed runs per worker "
        f"(+{warmup} warm-up round), interleaved round-robin."
    )
    parts = workers.docs_section(
        env, extra, table(rows, args.concurrency), verdicts(rows), notes(rows)
    )
    return "\n\n".join(parts)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per worker (7)")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork pool size (2)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up round")
    return common.parse(parser, argv, runs=1, concurrency=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    warmup = 0 if args.no_warmup else 1
    with workers.private_broker("startup", MARKER, [args.concurrency]) as bench:
        apps = {"air": workers.air_app(bench.config_dir), "celery": workers.plain_app(bench.broker)}
        for app in apps.values():
            workers.check_broker(app, bench.broker)
        setup = Setup(bench, args.concurrency, apps)
        commands = {v.key: " ".join(setup.argv(v)) for v in VARIANTS}
        records = measure(setup, args.runs, warmup)
    rows = summary(records)
    print(common.text_table(*table(rows, args.concurrency)))
    print("\n" + "\n".join(verdicts(rows)))
    docs = partial(render, bench.env, args, rows, warmup)
    bench.report(args, docs, rows, records, verdicts(rows), commands=commands)
    return 0


if __name__ == "__main__":
    common.entry_point(main, "startup.py")
