"""Benchmark no-op task throughput: air's pool against plain Celery and Dramatiq, side by side.

For each pool size, N no-op tasks are queued first (the same messages, restored from a snapshot,
for every run), then the workers are started and the clock runs from their launch until the
backlog is drained: nothing queued, nothing delivered and unacknowledged. Two rates come out of
every run: the whole job (start-up included) and the steady state (the middle 80 % of the
tasks). Every run also counts the Redis commands (scripts' inner commands included) and the
request reads (~ round trips) per task from INFO. Systems, on one private redis-server, in
interleaved runs:

- air: the compiled pool (`air run`): one solo process per core, acks late, the fetch script;
- Celery defaults: `celery worker -c N` (prefork, early acks, prefetch 4);
- Celery solo x N: N `celery worker -P solo` processes (defaults otherwise);
- Dramatiq: `dramatiq -p N -t 8` on its Redis broker (at-least-once).

    .venv/bin/python bench/throughput.py                      # 20,000 tasks, pool of 2
    .venv/bin/python bench/throughput.py --tasks 2000 --runs 1 --no-docs

Goals (issue 13): air >= 3.6x Celery defaults and >= 1.0x Dramatiq, <= 1 round trip per task.
Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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

DRAMATIQ_MODULE = "bench.peers.dramatiq_tasks"
MARKER = "bench:throughput"
SYSTEMS = ("air", "celery", "celery-solo", "dramatiq")
AIRS = ("air",)
LABELS = {
    "air": "air (compiled pool)",
    "celery": "Celery defaults (prefork)",
    "celery-solo": "Celery solo x N processes",
    "dramatiq": "Dramatiq (N processes x 8 threads)",
}
GOALS = {"celery": 3.6, "dramatiq": 1.0}  # air's steady rate over theirs
AIR_SLOT, CELERY_SLOT, DRAMATIQ_SLOT = 0, 1, 2  # snapshot slots of the prepared backlogs
SLOTS = {"air": AIR_SLOT, "dramatiq": DRAMATIQ_SLOT}

# --explain: plain Celery plus one of air's compiled settings at a time (compile.py), then all
# of them together, so the cost of each choice shows up next to the gap it explains.
# key -> (label, extra `celery worker` flags, extra app settings)
ABLATIONS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "celery": ("Celery defaults", (), {}),
    "acks": (
        "+ acks late, prefetch multiplier 1",
        ("--prefetch-multiplier", "1"),
        {"task_acks_late": True},
    ),
    "events": ("+ task events (-E)", ("-E",), {}),
    "steps": (
        "+ ten priority steps, queue_order_strategy priority",
        (),
        {
            "broker_transport_options": {
                "priority_steps": list(range(10)),
                "queue_order_strategy": "priority",
            }
        },
    ),
}
ABLATIONS["all"] = (
    "+ all of the above",
    tuple(flag for _, flags, _ in ABLATIONS.values() for flag in flags),
    {k: v for _, _, settings in ABLATIONS.values() for k, v in settings.items()},
)


@dataclass
class Setup(workers.OnBench):
    bench: workers.Bench
    tasks: int

    def argv(self, system: str, concurrency: int) -> list[str]:
        if system == "air":
            return workers.air_run_argv(self.config_dir, f"bench-c{concurrency}")
        if system == "celery-solo":  # N solo workers in one process group
            one = shlex.join(workers.plain_argv(["bench"], 1, "-P", "solo"))
            solos = " & ".join(f"{one} -n solo{i}@%h" for i in range(concurrency))
            return ["sh", "-c", f"{solos} & wait"]
        if system == "dramatiq":
            return [common.script("dramatiq"), DRAMATIQ_MODULE, "-p", str(concurrency), "-t", "8"]
        return workers.plain_argv(["bench"], concurrency, *ABLATIONS[system][1])

    def drain(self, system: str) -> workers.Drain:
        if system == "dramatiq":
            return workers.Drain(self.broker, [], [_dramatiq(self.broker).remaining_key()])
        return workers.Drain(self.broker, workers.kombu_keys("bench"), ["unacked"])

    def worker_env(self, system: str) -> dict[str, str]:
        settings = ABLATIONS[system][2] if system in ABLATIONS else {}
        return {**self.env, "BENCH_PLAIN_SETTINGS": json.dumps(settings)}


def _dramatiq(broker: workers.Broker) -> Any:
    """bench/peers/dramatiq_tasks.py, imported once the private redis-server runs (it connects)."""
    os.environ["BENCH_BROKER_URL"] = broker.broker_url
    from peers import dramatiq_tasks

    return dramatiq_tasks


def prepare(setup: Setup) -> None:
    """Queue N no-op tasks through each system's own app and keep them as a snapshot."""
    senders = {
        AIR_SLOT: workers.air_app(setup.config_dir),
        CELERY_SLOT: workers.plain_app(setup.broker),
    }
    for slot, app in senders.items():
        workers.check_broker(app, setup.broker)
        setup.broker.reset()
        if slot == AIR_SLOT:  # routed by the config: queue bench, priority 5
            workers.send_many(app, "bench.noop", setup.tasks)
        else:
            workers.send_many(app, "bench.noop", setup.tasks, queue="bench")
        queued = setup.broker.queued("bench")
        if queued != setup.tasks:
            raise common.BenchError(f"{app.main}: {queued} tasks queued, not {setup.tasks}")
        setup.broker.snapshot(slot)
    setup.broker.reset()
    peer = _dramatiq(setup.broker)
    peer.send_many(setup.tasks)
    queued = setup.broker.db(0).hlen(peer.remaining_key())
    if queued != setup.tasks:
        raise common.BenchError(f"dramatiq: {queued} tasks queued, not {setup.tasks}")
    setup.broker.snapshot(DRAMATIQ_SLOT)
    setup.broker.reset()


def run_once(setup: Setup, system: str, concurrency: int, run_no: int) -> dict[str, Any]:
    broker, n = setup.broker, setup.tasks
    broker.restore(SLOTS.get(system, CELERY_SLOT))
    log = setup.logs / f"{system}-c{concurrency}-{run_no}.log"
    argv = setup.argv(system, concurrency)
    worker = workers.WorkerProcess(system, argv, setup.worker_env(system), log)
    drain = setup.drain(system)
    try:
        worker.start()
        workers.wait_for(drain.done, max(120.0, n / 20), f"{n} tasks to drain", worker)
        commands, reads = drain.cost()
    finally:
        drain.close()
        worker.stop()
    low, high = int(0.1 * n), int(0.9 * n)
    end = drain.when(n, n)
    return {
        "system": system,
        "concurrency": concurrency,
        "first_result_s": drain.when(1, n) - worker.launched,
        "total_s": end - worker.launched,
        "total_rate": n / (end - worker.launched),
        "steady_rate": (high - low) / (drain.when(high, n) - drain.when(low, n)),
        "commands_per_task": commands / n,
        "round_trips_per_task": reads / n,
        "warm_shutdown_escalated": worker.escalated,
    }


def _progress(record: dict[str, Any], run_no: int, runs: int) -> None:
    print(
        f"  run {run_no + 1}/{runs} c={record['concurrency']} {record['system']:7} "
        f"{record['total_rate']:5.0f}/s whole, {record['steady_rate']:5.0f}/s steady",
        file=sys.stderr,
        flush=True,
    )


def measure(
    setup: Setup, systems: Sequence[str], concurrencies: Sequence[int], runs: int, warmup: bool
) -> list[dict[str, Any]]:
    """Every system at every pool size `runs` times; the order of the systems is rotated at
    every step, so each goes first equally often."""
    if warmup:  # untimed: page cache, bytecode caches, Redis memory
        for system in systems:
            run_once(setup, system, concurrencies[0], -1)
    records = []
    step = 0
    for run_no in range(runs):
        for concurrency in concurrencies:
            offset = step % len(systems)
            step += 1
            for system in [*systems[offset:], *systems[:offset]]:
                record = run_once(setup, system, concurrency, run_no)
                records.append({"run": run_no, **record})
                _progress(record, run_no, runs)
    return records


# --- reporting --------------------------------------------------------------------------------


def summary(records: list[dict[str, Any]], concurrencies: Sequence[int]) -> list[dict[str, Any]]:
    keys = (
        "total_rate",
        "steady_rate",
        "first_result_s",
        "total_s",
        "commands_per_task",
        "round_trips_per_task",
    )
    rows = []
    for concurrency in concurrencies:
        medians = {}
        for system in SYSTEMS:
            mine = [r for r in records if r["system"] == system and r["concurrency"] == concurrency]
            medians[system] = {key: statistics.median(r[key] for r in mine) for key in keys}
        row: dict[str, Any] = {"concurrency": concurrency, **medians}
        for other in SYSTEMS[1:]:
            for key in ("total", "steady"):
                rate = f"{key}_rate"
                row[f"vs_{other}_{key}"] = medians["air"][rate] / medians[other][rate]
        rows.append(row)
    return rows


# One line per pool size and system: that system's measurements, its pool size and ratio.
COLUMNS = [
    common.Column("pool size", lambda m: str(m["concurrency"])),
    common.Column("worker", lambda m: LABELS[m["system"]], "l"),
    common.Column("whole job, tasks/s", lambda m: f"{m['total_rate']:.0f}"),
    common.Column("steady state, tasks/s", lambda m: f"{m['steady_rate']:.0f}"),
    common.Column("air / this, steady", lambda m: m["ratio"]),
    common.Column("Redis commands / task", lambda m: f"{m['commands_per_task']:.2f}"),
    common.Column("round trips / task", lambda m: f"{m['round_trips_per_task']:.2f}"),
    common.Column("launch → last task", lambda m: f"{m['total_s']:.2f} s"),
]


def table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], str]:
    lines = [
        {
            **row[system],
            "concurrency": row["concurrency"],
            "system": system,
            "ratio": "" if system == "air" else f"**{row[f'vs_{system}_steady']:.2f}**",
        }
        for row in rows
        for system in SYSTEMS
    ]
    return common.tabulate(COLUMNS, lines)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        for other, goal in GOALS.items():
            ratio = row[f"vs_{other}_steady"]
            verdict = "PASS" if ratio >= goal else "FAIL"
            lines.append(
                f"{verdict} — pool of {row['concurrency']}, steady state: air / "
                f"{LABELS[other]} = {ratio:.2f} (goal >= {goal:.1f})"
            )
        trips = row["air"]["round_trips_per_task"]
        verdict = "PASS" if trips <= 1.0 else "FAIL"
        lines.append(
            f"{verdict} — pool of {row['concurrency']}: air's Redis round trips per task = "
            f"{trips:.2f} (goal <= 1)"
        )
    return lines


def explain_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median steady-state rate of each --explain worker, relative to Celery's defaults."""
    medians = {}
    for system in [*ABLATIONS, "air"]:
        rates = [r["steady_rate"] for r in records if r["system"] == system]
        if rates:
            medians[system] = statistics.median(rates)
    base = medians["celery"]
    return [
        {
            "system": system,
            "label": "air" if system == "air" else ABLATIONS[system][0],
            "steady_rate": rate,
            "vs_defaults": rate / base,
            "runs": [r["steady_rate"] for r in records if r["system"] == system],
        }
        for system, rate in medians.items()
    ]


def explain_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]], str]:
    headers = ["worker", "steady state, tasks/s", "× Celery defaults"]
    body = [[r["label"], f"{r['steady_rate']:.0f}", f"{r['vs_defaults']:.2f}"] for r in rows]
    return headers, body, "lrr"


def notes(rows: list[dict[str, Any]], explained: list[dict[str, Any]]) -> list[str]:
    lines = [
        "Whole job: N / (time the backlog was drained - launch of the workers), start-up "
        "included (bench/startup.py measures start-up alone). Steady state: the 10th to the "
        "90th percentile of the tasks. A task counts as done when its message is neither queued "
        "nor delivered-and-unacknowledged (air, Celery: kombu's lists and `unacked` hash; "
        "Dramatiq: its `.msgs` hash), read every 5 ms by one pipelined poll; the task is a true "
        "no-op on every side, and no result is read.",
        "Redis commands per task: INFO commandstats over the run, the commands a Lua script "
        "runs included; round trips per task: INFO's total_reads_processed (one per request or "
        "pipeline a client sends); both less the watcher's own polls, divided by N.",
        "air runs its compiled pool (`air run`): one solo process per core (the pool's "
        "concurrency split evenly), acks late, the fetch script with acknowledgements carried "
        "by the next fetch, task events on (batched), `result: on_request` (no result stored: "
        "nobody asks), log level WARNING. Celery runs with its defaults: early acks (a crash "
        "loses the prefetched and running tasks), prefetch multiplier 4, results stored. "
        "Dramatiq: its Redis broker, acks after the task (at-least-once), results off.",
        "Load: other engineers' test runs share the 2 cores; the interleaved runs spread that "
        "noise evenly over the systems, the ratios are from one run.",
    ]
    if explained:
        lines.append("The --explain table prices each of air's settings on plain Celery.")
    return lines


def render(
    env: dict[str, Any],
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    explained: list[dict[str, Any]],
) -> str:
    extra = (
        f"{args.tasks:,} no-op tasks per run, {args.runs} timed runs per worker and pool size "
        f"(+{'1 warm-up run each' if args.warmup else 'no warm-up'}), interleaved."
    )
    parts = workers.docs_section(env, extra, table(rows), verdicts(rows), notes(rows, explained))
    if explained:
        parts.append(
            f"Cost of each of air's settings (`--explain`: pool of {args.concurrency[0]}, "
            f"{args.explain_runs} runs each, interleaved, medians):\n\n"
            + common.markdown_table(*explain_table(explained))
        )
    return "\n\n".join(parts)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    add = parser.add_argument
    add("--tasks", type=int, default=20000, help="no-op tasks per run (20000)")
    add("--concurrency", default="2", help="pool sizes, comma-separated (2)")
    add("--runs", type=int, default=3, help="timed runs per worker and size (3)")
    add("--no-warmup", dest="warmup", action="store_false", help="skip the warm-up runs")
    add(
        "--explain",
        action="store_true",
        help="also run plain Celery with each of air's settings added, one at a time, "
        "at the first pool size",
    )
    add("--explain-runs", type=int, default=3, help="runs per --explain worker (3)")
    args = common.parse(parser, argv, tasks=100, runs=1)
    try:
        args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--concurrency: not a list of integers: {args.concurrency!r}")
    if not args.concurrency or min(args.concurrency) < 1:
        parser.error("--concurrency: every pool size must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    explained_records: list[dict[str, Any]] = []
    with workers.private_broker("throughput", MARKER, args.concurrency) as bench:
        setup = Setup(bench, args.tasks)
        print(f"queueing {args.tasks:,} tasks for each worker ...", file=sys.stderr)
        prepare(setup)
        records = measure(setup, SYSTEMS, args.concurrency, args.runs, args.warmup)
        if args.explain:
            print("explain: plain Celery + each of air's settings ...", file=sys.stderr)
            systems = [*ABLATIONS, "air"]
            first = args.concurrency[:1]
            explained_records = measure(setup, systems, first, args.explain_runs, False)
    rows = summary(records, args.concurrency)
    explained = explain_rows(explained_records) if explained_records else []
    print(common.text_table(*table(rows)).replace("**", ""))
    if explained:
        print("\n" + common.text_table(*explain_table(explained)))
    print("\n" + "\n".join(verdicts(rows)))
    ablations = {k: {"flags": f, "settings": s} for k, (_, f, s) in ABLATIONS.items()}
    bench.report(
        args,
        partial(render, bench.env, args, rows, explained),
        rows,
        records,
        verdicts(rows),
        explain=explained,
        explain_runs=explained_records,
        ablations=ablations,
    )
    return 0


if __name__ == "__main__":
    common.entry_point(main, "throughput.py")
