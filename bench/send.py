"""Benchmark sending: air's bulk send against an apply_async loop, in the same run.

N no-op messages are sent to one private redis-server three ways, interleaved, `rounds` times:
a loop of `task.apply_async()` (Celery's way, one LPUSH round trip each), the same loop with
`ignore_result=True`, and `send_many()` (runtime/sending/bulk.py: the same messages through
the same send path, pipelined 1,000 at a time). The clock runs from the first send to the
return of the last; every run starts from an empty queue and checks that N messages arrived.

    .venv/bin/python bench/send.py                    # 10,000 messages, 3 rounds
    .venv/bin/python bench/send.py --messages 2000 --rounds 1 --no-docs

Goal (issue 13): send_many >= 10x the apply_async loop (25x hoped for).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import _workers as workers  # noqa: E402  (bench/ is not a package)

DOCS = common.ROOT / "docs" / "benchmarks.md"
MARKER = "bench:send"
GOAL = 10.0
TASK = "bench.noop"
WAYS = ("loop", "loop-ignore", "bulk")
LABELS = {
    "loop": "apply_async loop",
    "loop-ignore": "apply_async loop, ignore_result=True",
    "bulk": "send_many (pipelined)",
}


def senders(app: Any, n: int) -> dict[str, Callable[[], None]]:
    from runtime.sending.bulk import send_many

    task = app.signature(TASK)

    def loop() -> None:
        for _ in range(n):
            task.apply_async()

    def loop_ignore() -> None:
        for _ in range(n):
            task.apply_async(ignore_result=True)

    def bulk() -> None:
        send_many(app, TASK, [[] for _ in range(n)])

    return {"loop": loop, "loop-ignore": loop_ignore, "bulk": bulk}


def measure(broker: workers.Broker, app: Any, n: int, rounds: int) -> list[dict[str, Any]]:
    ways = senders(app, n)
    ways["bulk"]()  # untimed warm-up: connections, imports
    records = []
    for round_no in range(rounds):
        order = [*WAYS[round_no % 3 :], *WAYS[: round_no % 3]]
        for way in order:
            broker.reset()
            start = time.perf_counter()
            ways[way]()
            elapsed = time.perf_counter() - start
            queued = broker.queued("bench")
            if queued != n:
                raise common.BenchError(f"{way}: {queued} messages queued, not {n}")
            records.append({"round": round_no, "way": way, "seconds": elapsed, "rate": n / elapsed})
            print(f"  round {round_no + 1}/{rounds} {way:12} {n / elapsed:8.0f}/s", file=sys.stderr)
    return records


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    rates = {w: statistics.median(r["rate"] for r in records if r["way"] == w) for w in WAYS}
    return {"rates": rates, "ratio": rates["bulk"] / rates["loop"]}


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    rates = result["rates"]
    body = [[LABELS[w], f"{rates[w]:,.0f}", f"{rates[w] / rates['loop']:.1f}×"] for w in WAYS]
    return ["send", "messages/s (median)", "× apply_async loop"], body, "lrr"


def verdict(result: dict[str, Any]) -> str:
    ok = "PASS" if result["ratio"] >= GOAL else "FAIL"
    return f"{ok} — send_many / apply_async loop = {result['ratio']:.1f} (goal >= {GOAL:.0f})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    parser.add_argument("--messages", type=int, default=10000, help="messages per run (10000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    return common.parse(parser, argv, messages=100, rounds=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with workers.private_broker("send", MARKER, [1]) as bench:
        app = workers.air_app(bench.config_dir)
        workers.check_broker(app, bench.broker)
        records = measure(bench.broker, app, args.messages, args.rounds)
    env = bench.env
    result = summary(records)
    print(common.text_table(*table(result)))
    print("\n" + verdict(result))
    path = common.write_results(
        "send", {"arguments": vars(args), "environment": env, "summary": result, "runs": records}
    )
    extra = f"{args.messages:,} messages per run, {args.rounds} interleaved rounds, medians."
    section = "\n\n".join(
        [
            "\n".join(workers.header_lines(env, extra)),
            common.markdown_table(*table(result)),
            verdict(result),
        ]
    )
    common.publish(path, DOCS, MARKER, None if args.no_docs else section)
    return 0


if __name__ == "__main__":
    common.entry_point(main, "send.py")
