"""Benchmark the store's Alembic migrations: what a worker start pays, and a fresh build.

Times in-process calls, on SQLite and on PostgreSQL (AIR_TEST_DATABASE_URL or the local server,
in throw-away schemas), each case interleaved round-robin with its baseline:

- worker start, database at head: `migrate()` (lock, version read, revision lookup) against the
  floor of any version check, a locked transaction that reads `alembic_version`;
- fresh database: `migrate()` building revision 0001 against `metadata.create_all` in one
  transaction, which is what the pre-Alembic runner's migration 1 ran.

    .venv/bin/python bench/store_migrate.py                 # 30 runs; updates docs/benchmarks.md
    .venv/bin/python bench/store_migrate.py --runs 5 --no-docs
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common  # noqa: E402  (bench/ is not a package)
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from tasks.store.db.engine import create_engine, database_url, transaction  # noqa: E402
from tasks.store.db.migrate import locked, migrate  # noqa: E402
from tasks.store.db.tables import metadata  # noqa: E402

DOCS = common.ROOT / "docs" / "benchmarks.md"
MARKER = "bench:store_migrate"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PACKAGES = ("air", "sqlalchemy", "alembic", "psycopg")

Factory = Callable[[], sa.Engine]  # a new, empty database


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.arguments(__doc__)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per case (30)")
    return common.parse(parser, argv, runs=1)


@contextmanager
def sqlite_databases() -> Iterator[Factory]:
    with tempfile.TemporaryDirectory(prefix="air-bench-store-") as workdir:
        count = iter(range(10**6))
        yield lambda: create_engine(f"sqlite+pysqlite:///{workdir}/{next(count)}.db")


@contextmanager
def postgres_databases() -> Iterator[Factory]:
    admin = sa.create_engine(database_url(os.environ.get("AIR_TEST_DATABASE_URL") or PG_DEFAULT),
                             poolclass=NullPool)
    prefix = f"air_bench_{os.getpid()}_{secrets.token_hex(3)}"
    count = iter(range(10**6))

    def new() -> sa.Engine:
        schema = f"{prefix}_{next(count)}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        return create_engine(admin.url.update_query_dict({"options": f"-csearch_path={schema}"}))

    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as exc:
        raise common.BenchError(f"PostgreSQL unreachable ({exc.orig}); set AIR_TEST_DATABASE_URL"
                         ) from None
    try:
        yield new
    finally:
        with admin.connect() as conn:
            names = conn.scalars(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                 {"p": prefix + "%"}).all()
        for name in names:  # one transaction each: dozens at once exhaust the lock table
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def version_read(engine: sa.Engine) -> None:
    with locked(engine) as conn:
        conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()


def create_all(engine: sa.Engine) -> None:
    with transaction(engine=engine) as conn:
        metadata.create_all(conn)


def timed(action: Callable[[sa.Engine], object], engine: sa.Engine) -> float:
    start = time.perf_counter()
    action(engine)
    return time.perf_counter() - start


def at_head(new: Factory, runs: int) -> dict[str, list[float]]:
    engine = new()
    migrate(engine)
    cases = {"migrate() at head": migrate, "locked version read": version_read}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(-1, runs):  # one warm-up round
        for name, action in sorted(cases.items(), reverse=bool(round_no % 2)):
            engine.dispose()  # a worker starts with no pooled connection
            seconds = timed(action, engine)
            if round_no >= 0:
                times[name].append(seconds)
    engine.dispose()
    return times


def fresh(new: Factory, runs: int) -> dict[str, list[float]]:
    cases = {"migrate(), fresh database": migrate, "metadata.create_all, fresh database":
             create_all}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(-1, runs):
        for name, action in sorted(cases.items(), reverse=bool(round_no % 2)):
            engine = new()
            seconds = timed(action, engine)
            engine.dispose()
            if round_no >= 0:
                times[name].append(seconds)
    return times


def rows(results: dict[str, dict[str, list[float]]]) -> list[list[str]]:
    baselines = {"migrate() at head": "locked version read",
                 "migrate(), fresh database": "metadata.create_all, fresh database"}
    table = []
    for database, times in results.items():
        for name, seconds in times.items():
            base = baselines.get(name, name)
            ratio = statistics.median(seconds) / statistics.median(times[base])
            table.append([database, name, f"{statistics.median(seconds) * 1000:.1f}",
                          f"{common.percentile(seconds, 90) * 1000:.1f}", f"{ratio:.2f}"])
    return table


HEADERS = ["database", "case", "median ms", "p90 ms", "× baseline"]


def render(env: dict[str, object], runs: int, table: list[list[str]]) -> str:
    return "\n".join([
        f"- Run: {env['date']}, commit `{env['git']}`; {runs} timed runs per case (+1 warm-up),"
        " each case interleaved with its baseline.",
        f"- Machine: {env['cpu']}, {env['nproc']} CPUs, load average at start "
        f"{env['load_average']}; {env['python']}; packages {env['packages']}.",
        "",
        common.markdown_table(HEADERS, table, "llrrr"),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = common.environment(PACKAGES)
    results: dict[str, dict[str, list[float]]] = {}
    for database, databases in (("SQLite", sqlite_databases), ("PostgreSQL", postgres_databases)):
        print(f"{database}: {args.runs} runs per case ...", file=sys.stderr)
        with databases() as new:
            results[database] = {**at_head(new, args.runs), **fresh(new, args.runs)}
    table = rows(results)
    print(common.text_table(HEADERS, table, "llrrr"))
    path = common.write_results("store_migrate", {"environment": env, "runs": args.runs,
                                           "seconds": results})
    common.publish(path, DOCS, MARKER, None if args.no_docs else render(env, args.runs, table))
    return 0


if __name__ == "__main__":
    common.entry_point(main, "store_migrate.py")
