"""Benchmark `air health` and `air status` with the shipped five pools and beat running.

The shipped config (config/) runs against a private redis-server: `air run POOL` for each of its
five pools and `air beat`, then `air health` and `air status` are timed as whole processes
(what a probe or an operator waits for), interleaved round-robin with `air pools`, the baseline:
a command that loads and compiles the same config and talks to nobody. Each run must exit 0, so
every timed health run found all five pools, beat and every queue's SLO fine.

    .venv/bin/python bench/operate.py                  # 15 runs; updates docs/benchmarks.md
    .venv/bin/python bench/operate.py --runs 5 --no-docs

Goals (issue 10): `air health` <= 1.5 s, `air status` <= 2 s (medians).
Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import _workers as workers  # noqa: E402  (bench/ is not a package)

DOCS = common.ROOT / "docs" / "benchmarks.md"
MARKER = "bench:operate"
HEADERS = ["command", "median ms", "p90 ms", "× air pools"]
CONFIG = common.ROOT / "config"
POOLS = ("high-priority", "default", "ai-tasks", "data-pipeline", "low-priority")
GOALS_S = {"health": 1.5, "status": 2.0}


def commands() -> list[common.Command]:
    air = common.script("air")
    return [
        common.Command("pools", [air, "--config", str(CONFIG), "pools"]),
        common.Command("health", [air, "--config", str(CONFIG), "health"]),
        common.Command("status", [air, "--config", str(CONFIG), "status"]),
    ]


def start_platform(broker: workers.Broker, env: dict[str, str], logs: Path) -> None:
    air = common.script("air")
    for name, argv in [*((p, ["run", p]) for p in POOLS), ("beat", ["beat"])]:
        workers.WorkerProcess(
            name, [air, "--config", str(CONFIG), *argv], env, logs / f"{name}.log"
        ).start()

    def healthy() -> bool:
        done = subprocess.run(
            [air, "--config", str(CONFIG), "health"], env=env, capture_output=True, check=False
        )
        return done.returncode == 0

    workers.wait_for(healthy, 90, "air health to pass with five pools and beat up")


def rows(timings: dict[str, common.Timing]) -> list[list[str]]:
    base = timings["pools"].median_ms
    return [
        [
            f"`{t.command.shell()}`",
            f"{t.median_ms:.0f}",
            f"{t.p90_ms:.0f}",
            f"{t.median_ms / base:.2f}",
        ]
        for t in timings.values()
    ]


def verdicts(timings: dict[str, common.Timing]) -> list[str]:
    lines = []
    for name, goal in GOALS_S.items():
        median = timings[name].median_ms / 1000
        lines.append(
            f"{'PASS' if median <= goal else 'FAIL'}: `air {name}` median {median:.2f} s "
            f"with five pools and beat up (goal <= {goal:g} s)."
        )
    return lines


NOTES = [
    "`air health` stops waiting as soon as every declared pool has answered the `air_info` "
    "broadcast. `air status` waits 1 s after the last reply (Celery's reply timeout), so it "
    "also sees workers nobody declared: that second is most of its time beyond health's.",
    "Beyond the baseline, both pay for importing Celery, kombu and redis-py and one broadcast "
    "round trip.",
    "The baseline `air pools` loads, validates and compiles the same config and prints it; "
    "on a loaded machine every process slows alike, so read the ratios.",
]


def render(env: dict[str, Any], runs: int, timings: dict[str, common.Timing]) -> str:
    extra = f"the shipped config, five pools + beat up, {runs} timed runs each, interleaved."
    table = common.markdown_table(HEADERS, rows(timings), "lrrr")
    return "\n\n".join(
        [
            "\n".join(workers.header_lines(env, extra)),
            table,
            "Goals:\n\n" + "\n".join(f"- {line}" for line in verdicts(timings)),
            "Notes:\n\n" + "\n".join(f"- {line}" for line in NOTES),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (15)")
    args = common.parse(parser, argv, runs=1)
    # The bench config private_broker writes goes unused: this times the shipped one.
    with workers.private_broker("operate", MARKER, [1]) as bench:
        broker = bench.broker
        child_env = workers.worker_env(broker, CONFIG)
        # The shipped queues.yaml reads its broker from these (${AIR_BROKER_URL:-...}).
        child_env.update(AIR_BROKER_URL=broker.broker_url, AIR_RESULT_BACKEND=broker.result_url)
        start_platform(broker, child_env, bench.logs)
        timings = common.measure(commands(), args.runs, env=child_env)
    env = bench.env
    print(common.text_table(HEADERS, rows(timings), "lrrr"))
    print("\n" + "\n".join(verdicts(timings)))
    path = common.write_results(
        "operate",
        {
            "benchmark": "operate",
            "arguments": vars(args),
            "environment": env,
            "timings": {name: common.timing_record(t) for name, t in timings.items()},
            "verdicts": verdicts(timings),
        },
    )
    common.publish(path, DOCS, MARKER, None if args.no_docs else render(env, args.runs, timings))
    return 0


if __name__ == "__main__":
    common.entry_point(main, "operate.py")
