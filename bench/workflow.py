#!/usr/bin/env python3
"""What a declared workflow costs per step, against the same chain built at the call site.

Both run N no-op steps (bench.noop, immutable signatures) in one chain on the same air worker
(pool bench-c2) and private redis-server, alternating, R rounds; the time is from the send to
the last step's result. The workflow side is a WorkflowPlan of the same steps sent through
runtime/sending/workflows.py: headers on every step, the run's record in Redis, and each
worker's hook counting finished steps.

    .venv/bin/python bench/workflow.py               # updates docs/benchmarks.md
    .venv/bin/python bench/workflow.py --rounds 3 --no-docs
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import _workers as workers  # noqa: E402

MARKER = "bench:workflow"
POOL = "bench-c2"
OPTIONS = (
    common.Option("--steps", 30, "steps in each chain", least=1),
    common.Option("--rounds", 7, "runs of each, alternating", least=1),
)


def plain_chain(app: Any, steps: int) -> Any:
    from celery import chain

    # Every step stores its result, as a declared workflow's steps do (runtime/sending/
    # workflows.py); bench.noop's own policy (`result: on_request`) would store none.
    return chain(
        *(app.signature("bench.noop", immutable=True, ignore_result=False) for _ in range(steps))
    )


def timed(send: Any, timeout: float) -> float:
    started = time.perf_counter()
    send().get(timeout=timeout)
    return time.perf_counter() - started


def measure(bench: workers.Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    import redis

    from runtime.broker.workflow_runs import WorkflowRuns
    from runtime.compiler.plan import WorkflowPlan
    from runtime.sending import workflows

    plan = workers.air_plan(bench.config_dir)
    app = workers.air_app(bench.config_dir)
    runs = WorkflowRuns(redis.Redis.from_url(bench.broker.broker_url))
    step = {"task": "bench.noop", "args": [], "kwargs": {}, "input": False}
    declared = WorkflowPlan(name="bench", description="", steps=(step,) * args.steps)
    sends = {
        "call-site chain": lambda: plain_chain(app, args.steps).apply_async(),
        "air workflow": lambda: workflows.send(app, plan, declared, runs)[1],
    }
    worker = workers.WorkerProcess(
        "air",
        workers.air_run_argv(bench.config_dir, POOL),
        bench.worker_env(),
        bench.logs / "w.log",
    )
    records = []
    try:
        worker.start()
        timed(sends["call-site chain"], 120)  # warm-up: the worker is up and has every task
        for round_no in range(args.rounds):
            order = list(sends) if round_no % 2 == 0 else list(reversed(sends))
            for kind in order:
                seconds = timed(sends[kind], 120)
                records.append({"kind": kind, "round": round_no, "seconds": seconds})
                print(f"  round {round_no + 1} {kind:16} {seconds * 1000:.0f} ms", file=sys.stderr)
    finally:
        worker.stop()
    return records


def summary(records: list[dict[str, Any]], steps: int) -> list[dict[str, Any]]:
    rows = []
    for kind in ("call-site chain", "air workflow"):
        seconds = [r["seconds"] for r in records if r["kind"] == kind]
        median = statistics.median(seconds)
        rows.append({"kind": kind, "median_s": median, "per_step_ms": median * 1000 / steps})
    rows[1]["ratio"] = rows[1]["median_s"] / rows[0]["median_s"]
    rows[1]["overhead_per_step_ms"] = rows[1]["per_step_ms"] - rows[0]["per_step_ms"]
    return rows


COLUMNS = [
    common.Column("chain of no-op steps", lambda row: row["kind"], "l"),
    common.Column("median, whole run", lambda row: f"{row['median_s'] * 1000:.0f} ms"),
    common.Column("per step", lambda row: f"{row['per_step_ms']:.2f} ms"),
    common.Column("ratio", lambda row: f"{row.get('ratio', 1.0):.2f}"),
]


def table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], str]:
    return common.tabulate(COLUMNS, rows)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    overhead = rows[1]["overhead_per_step_ms"]
    return [
        f"a declared workflow costs {overhead:+.2f} ms per step over the same chain built at the "
        f"call site ({rows[1]['ratio']:.2f}x the whole run)"
    ]


def render(env: dict[str, Any], args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    extra = (
        f"{args.steps} no-op steps per chain on one air worker (prefork pool of 2), "
        f"{args.rounds} runs of each, alternating; send to last result."
    )
    notes = [
        "The workflow side adds, per step: three message headers, the worker's success hook "
        "counting the step in the run's Redis hash (one script call), and one hash write at send.",
    ]
    return "\n\n".join(workers.docs_section(env, extra, table(rows), verdicts(rows), notes))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return common.parse(common.arguments(__doc__), argv, *OPTIONS)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with workers.private_broker("workflow", MARKER, [2]) as bench:
        records = measure(bench, args)
    rows = summary(records, args.steps)
    print(common.text_table(*table(rows)))
    print("\n" + "\n".join(verdicts(rows)))
    bench.report(args, partial(render, bench.env, args, rows), rows, records, verdicts(rows))
    return 0


if __name__ == "__main__":
    common.entry_point(main, "workflow.py")
