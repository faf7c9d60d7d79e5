"""Benchmark what the daylight-saving lint (AIR406) adds to `air validate`.

In one process, interleaved round-robin: every semantic rule over a loaded config, and the same
rules without the daylight-saving one (the baseline, measured in the same run); loading and the
schema check, which the lint does not touch, are left out so the difference stands out. The
caches (a zone's offset changes, an expression's affected fires and validity) are emptied
before every call, as a fresh `air validate` process starts without them. Configs: the shipped
one, and bench/validate.py's generated 2,000 tasks / 500 schedules (a sixth of them in
Europe/Berlin, America/New_York, Asia/Tokyo or Australia/Sydney, the rest UTC).

    .venv/bin/python bench/dst_lint.py              # 30 rounds; updates docs/benchmarks.md
    .venv/bin/python bench/dst_lint.py --rounds 10 --no-docs
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common  # noqa: E402  (bench/ is not a package)
from validate import LARGE, generate  # noqa: E402

from runtime.config import cron, rules  # noqa: E402
from runtime.config.validate import Validation, validate  # noqa: E402

DOCS = common.ROOT / "docs" / "benchmarks.md"
FULL = rules.RULES
WITHOUT = tuple(r for r in FULL if r is not rules.daylight_saving)


def timed(loaded: Validation, with_lint: bool) -> float:
    for cached in (cron._changes, cron.dst_fires, cron.expression_problem):
        cached.cache_clear()
    rules.RULES = FULL if with_lint else WITHOUT
    by_file = {doc.path: doc for doc in loaded.docs.values()}
    start = time.perf_counter()
    rules.check(loaded.config, by_file)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds per variant (30)")
    args = common.parse(parser, argv, rounds=1)
    with tempfile.TemporaryDirectory(prefix="air-bench-dst-") as workdir:
        dirs = {"shipped": common.ROOT / "config", "2000t/500s": generate(Path(workdir), *LARGE)}
        configs = {name: validate(path, {}) for name, path in dirs.items()}
        runs: dict[tuple[str, bool], list[float]] = {(c, w): [] for c in configs for w in (0, 1)}
        for _ in range(args.rounds + 1):  # the first round warms imports and caches up
            for (name, with_lint), seconds in runs.items():
                seconds.append(timed(configs[name], bool(with_lint)))
                rules.RULES = FULL
        rows = []
        for name in configs:
            base = statistics.median(runs[name, False][1:]) * 1000
            lint = statistics.median(runs[name, True][1:]) * 1000
            rows.append(
                [name, f"{base:.1f}", f"{lint:.1f}", f"{lint / base:.2f}", f"{lint - base:.1f}"]
            )
    headers = [
        "config",
        "rules without AIR406 ms",
        "rules with AIR406 ms",
        "× baseline",
        "added ms",
    ]
    table = common.markdown_table(headers, rows, "lrrrr")
    print(table)
    env = common.environment(["croniter", "tzdata"])
    section = (
        f"- Run: {env['date']}, commit `{env['git']}`, {args.rounds} rounds, in-process, "
        f"interleaved; {env['nproc']} CPUs, load average at start {env['load_average']}.\n\n"
        + table
    )
    path = common.write_results(
        "dst_lint", {"environment": env, "rows": [dict(zip(headers, r, strict=True)) for r in rows]}
    )
    common.publish(path, DOCS, "bench:dst", None if args.no_docs else section)
    return 0


if __name__ == "__main__":
    common.entry_point(main, "dst_lint")
