"""`air up`: the whole platform on this machine — every pool, beat, and Redis if none answers."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from cli.common import echo_table, pick, plan_or_fail
from cli.operate.processes import pool_children
from cli.options import CliOptions, config_option, pass_options, seconds_option
from runtime.broker.clients import is_sentinel
from runtime.compiler.plan import Plan, WorkerPlan
from runtime.config.errors import BrokerUnreachable
from runtime.config.redact import redact
from runtime.process import embedded, jsonlines
from runtime.process.supervisor import Child, Supervisor, write_line

EPILOG = """\b
Examples:
  air up                              every pool and beat; Ctrl-C stops them all
  air up --pools default,ai-tasks     only these pools (and beat)
  air up --no-beat --grace 60         running tasks get a minute to finish on Ctrl-C
  air up --flower                     and Flower on http://127.0.0.1:5555/

\b
Ctrl-C or SIGTERM is a warm shutdown: workers take no new task and their running tasks
finish within --grace seconds; then they are cancelled (acks_late ones go back to their
queue) and, 10 s later, whatever remains is killed. A second Ctrl-C skips to the cancel,
a third kills at once. With output piped, every line is JSON (AIR_LOG_FORMAT overrides).
"""

STATE_DIR = Path(".air")


@click.command(epilog=EPILOG)
@config_option
@click.option("--pools", "only", metavar="A,B", help="Run only these pools (default: all).")
@click.option("--no-beat", is_flag=True, help="Do not run the beat scheduler.")
@click.option("--flower", "with_flower", is_flag=True, help="Also run Flower (see `air flower`).")
@click.option(
    "--flower-port",
    type=click.IntRange(1, 65535),
    default=5555,
    show_default=True,
    help="Flower's port on 127.0.0.1.",
)
@seconds_option(
    "--grace",
    20.0,
    "Seconds running tasks get to finish on Ctrl-C/SIGTERM before they are cancelled.",
)
@click.option(
    "--loglevel",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Log level of every pool and beat (`air run` alone defaults to WARNING).",
)
@pass_options
def up(
    options: CliOptions,
    only: str | None,
    no_beat: bool,
    with_flower: bool,
    flower_port: int,
    grace: float,
    loglevel: str,
) -> None:
    """Run every pool and beat as child processes, with an embedded Redis if needed."""
    # Children write to a pipe; a person watching a terminal still wants readable lines, a log
    # collector JSON only: then every line `air up` prints, its own or a child's, is JSON.
    log_format = os.environ.get("AIR_LOG_FORMAT") or ("console" if sys.stdout.isatty() else "json")
    json_lines = log_format == "json"
    say = _sayer(json_lines)
    plan = plan_or_fail(options, warnings=True, as_json=json_lines)
    names = (
        [pick(n.strip(), plan.workers, "pool") for n in only.split(",")]
        if only
        else list(plan.workers)
    )
    servers = _ensure_broker(plan, say)
    env = dict(
        os.environ,
        AIR_CONFIG_DIR=str(options.config_dir.resolve()),
        PYTHONUNBUFFERED="1",
        AIR_LOG_FORMAT=log_format,
    )
    # Each child is `air run POOL` / `air beat`: the same path an operator runs by hand; -q as
    # the config's warnings were shown above, once.
    air = [sys.executable, "-m", "cli.main", "-q"]
    level = ["--loglevel", loglevel.upper()]
    # A pool of several processes is one child per process, so each is restarted on its own.
    children = [c for n in names for c in pool_children(plan.workers[n], env, level)]
    if not no_beat:
        children.append(Child(name="beat", argv=[*air, "beat", *level], env=env))
    if with_flower:
        flower = [*air, "flower", "--port", str(flower_port)]
        children.append(Child(name="flower", argv=flower, env=env))
    supervisor = Supervisor(children, grace=grace, color=options.color, json_lines=json_lines)
    previous = {
        sig: signal.signal(sig, _stopper(supervisor)) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        supervisor.start_all()
        (_note_started if json_lines else _print_table)(plan, children)
        supervisor.watch()
        say(
            f"warm shutdown: running tasks have {grace:g}s to finish "
            f"(Ctrl-C again cancels them; acks_late tasks go back to their queue)"
        )
        late = supervisor.shutdown()
        if late:
            say(f"cut short (cold shutdown): {', '.join(late)}")
    finally:
        if supervisor.children and not supervisor.stopping:
            supervisor.shutdown()
        for server in servers:
            say(f"stopping the embedded Redis on port {server.port}")
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say("stopped")


def _sayer(json_lines: bool) -> Callable[[str], None]:
    """air up's own notes, on stderr: `air: ...` for a person, a JSON line for a collector."""

    def say(message: str) -> None:
        write_line(sys.stderr, jsonlines.note(message) if json_lines else f"air: {message}")

    return say


def _stopper(supervisor: Supervisor):  # type: ignore[no-untyped-def]
    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        supervisor.stop()

    return handler


def _ensure_broker(plan: Plan, say: Callable[[str], None]) -> list[embedded.RedisServer]:
    """Use the configured Redis servers that answer; start the others, if they are on this
    machine. Returns the servers started here, to stop on the way out."""
    started: list[embedded.RedisServer] = []
    for url in (plan.celery["broker_url"], plan.celery["result_backend"]):
        if is_sentinel(url):  # a Sentinel's servers are the operator's: start none behind it
            continue
        host, port = embedded.host_port(url)
        if embedded.answers(host, port):
            continue
        if not embedded.is_loopback(url):
            raise BrokerUnreachable(
                f"nothing answers at {redact(url)}",
                hint="start that Redis, or point the URL at 127.0.0.1 so `air up` can start one",
            )
        server = embedded.RedisServer(port, STATE_DIR / f"redis-{port}", persistent=True)
        say(
            f"no Redis on 127.0.0.1:{port}; starting an embedded one "
            f"({server.binary}, data in {server.directory})"
        )
        try:
            server.start()
        except (OSError, RuntimeError, TimeoutError) as exc:
            for other in started:
                other.stop()
            raise BrokerUnreachable(f"could not start an embedded Redis: {exc}") from None
        started.append(server)
    return started


def _print_table(plan: Plan, children: list[Child]) -> None:
    rows = []
    for child in children:
        worker = _worker_of(plan, child)
        if worker is None:
            rows.append([child.name, "-", "-", str(child.pid)])
        else:
            rows.append([child.name, ",".join(worker.queues), str(_slots(worker)), str(child.pid)])
    echo_table(rows, ["POOL", "QUEUES", "CONCURRENCY", "PID"])
    click.echo(f"broker {redact(plan.celery['broker_url'])}; Ctrl-C stops everything")


def _worker_of(plan: Plan, child: Child) -> WorkerPlan | None:
    """The pool a child runs: its name is the pool's, or POOL.I for one of its processes."""
    return plan.workers.get(child.name) or next(
        (w for w in plan.workers.values() if child.name.startswith(f"{w.pool}.")), None
    )


def _note_started(plan: Plan, children: list[Child]) -> None:
    """The start-up table as JSON lines: one per child, then the broker."""
    for child in children:
        worker = _worker_of(plan, child)
        fields: dict[str, Any] = {}
        if worker is not None:
            fields = {"queues": list(worker.queues), "concurrency": _slots(worker)}
        click.echo(jsonlines.note("started", process=child.name, pid=child.pid, **fields))
    click.echo(jsonlines.note("broker", broker=redact(plan.celery["broker_url"])))


def _slots(worker: WorkerPlan) -> int:
    return worker.concurrency // worker.processes
