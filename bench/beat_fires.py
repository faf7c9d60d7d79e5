"""Benchmark what exactly-once costs a beat per fire.

Celery's beat sends a fire with one `send_task` on a pooled producer. air's beat (its own
`RedisScheduler._step` here) captures the same message as kombu's publish commands and runs
them inside its compare-and-set Lua script (runtime/broker/fires.py), after reading the
schedule's cursor. Both run here in one process on
one private redis-server, in interleaved rounds of FIRES fires each; the report is the median
time per fire and air's ratio to Celery's way.

    .venv/bin/python bench/beat_fires.py                 # updates docs/reliability.md
    .venv/bin/python bench/beat_fires.py --rounds 2 --no-docs

Raw results go to bench/results/ (git-ignored).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import _workers as workers  # noqa: E402  (bench/ is not a package)

from runtime.broker.fires import Fires  # noqa: E402
from runtime.sending.beat import RedisScheduler  # noqa: E402

DOCS = common.ROOT / "docs" / "reliability.md"
MARKER = "bench:beat-fires"
TASK = "bench.noop"
SCHEDULE = "bench"  # every second, `overlap: allow`: every fire is sent


def celery_way(app: Any) -> Callable[[int], None]:
    def fire(_: int) -> None:
        with app.producer_or_acquire() as producer:
            app.send_task(TASK, args=[], producer=producer, queue="bench")

    return fire


def air_way(app: Any, fires: Fires) -> Callable[[int], None]:
    """Beat's own step for each fire (message captured, not sent) and its commit."""
    scheduler = RedisScheduler(app=app, lazy=True)
    planned = app.air_plan.beat[SCHEDULE]

    def fire(step: int) -> None:
        expected = fires.cursor(SCHEDULE)
        at = datetime.fromtimestamp(step, UTC)  # every step is the next fire, due now
        committed = fires.commit(scheduler._step(planned, expected, at, 0.0, at.timestamp()))
        assert committed, "nothing else moves this cursor"

    return fire


def per_fire(fire: Callable[[int], None], count: int, start: int) -> float:
    began = time.perf_counter()
    for step in range(start, start + count):
        fire(step)
    return (time.perf_counter() - began) / count


def main() -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of each way (7)")
    parser.add_argument("--fires", type=int, default=300, help="fires per round (300)")
    args = common.parse(parser, None, rounds=1, fires=1)

    with tempfile.TemporaryDirectory(prefix="beat-bench-") as tmp:
        broker = workers.Broker(Path(tmp))
        broker.start()
        try:
            env = workers.machine(broker)
            config = workers.write_air_config(Path(tmp) / "config", broker, [1])
            schedule = {"task": TASK, "every": "1s", "overlap": "allow", "queue": "bench"}
            (config / "schedules.yaml").write_text(
                yaml.safe_dump({"version": 1, "schedules": {SCHEDULE: schedule}})
            )
            app = workers.air_app(config)
            workers.check_broker(app, broker)
            assert broker.client is not None
            ways = {
                "celery send_task": celery_way(app),
                "air exactly-once": air_way(app, Fires(broker.client)),
            }
            times: dict[str, list[float]] = {name: [] for name in ways}
            step = 1
            for round_no in range(-1, args.rounds):  # round -1 warms up
                order = list(ways)[round_no % 2 :] + list(ways)[: round_no % 2]
                for name in order:
                    seconds = per_fire(ways[name], args.fires, step)
                    step += args.fires
                    if round_no >= 0:
                        times[name].append(seconds)
                broker.reset()
            env["load_average_end"] = workers.load_now()
            app.close()
        finally:
            broker.stop()

    base = statistics.median(times["celery send_task"])
    headers = ["per fire", "median µs", "p90 µs", "vs send_task"]
    rows = [
        [
            name,
            f"{statistics.median(v) * 1e6:.0f}",
            f"{common.percentile(v, 90) * 1e6:.0f}",
            f"{statistics.median(v) / base:.2f}×",
        ]
        for name, v in times.items()
    ]
    print(common.text_table(headers, rows, "lrrr"))
    path = common.write_results("beat_fires", {"env": env, "seconds_per_fire": times})
    section = "\n".join(
        [
            "### Cost per fire (`bench/beat_fires.py`)",
            "",
            *workers.header_lines(env, f"{args.rounds} interleaved rounds of {args.fires} fires."),
            "",
            common.markdown_table(headers, rows, "lrrr"),
        ]
    )
    common.publish(path, DOCS, MARKER, None if args.no_docs else section)
    return 0


if __name__ == "__main__":
    common.entry_point(main, "beat_fires")
