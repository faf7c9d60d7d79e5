"""`air up`: the whole platform on this machine — every pool, beat, and Redis if none answers."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from cli.common import echo_table, pick, plan_or_fail, redact
from cli.options import CliOptions, config_option, pass_options
from cli.processes import pool_children
from runtime.compiler.plan import Plan, WorkerPlan
from runtime.config.errors import BrokerUnreachable
from runtime.process import embedded
from runtime.process.supervisor import Child, Supervisor

EPILOG = """\b
Examples:
  air up                              every pool and beat; Ctrl-C stops them all
  air up --pools default,ai-tasks     only these pools (and beat)
  air up --no-beat --grace 30
"""

STATE_DIR = Path(".air")


@click.command(epilog=EPILOG)
@config_option
@click.option("--pools", "only", metavar="A,B", help="Run only these pools (default: all).")
@click.option("--no-beat", is_flag=True, help="Do not run the beat scheduler.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="Seconds a warm shutdown may take before children are killed.",
)
@click.option(
    "--loglevel",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Log level of every pool and beat (`air run` alone defaults to WARNING).",
)
@pass_options
def up(options: CliOptions, only: str | None, no_beat: bool, grace: float, loglevel: str) -> None:
    """Run every pool and beat as child processes, with an embedded Redis if needed."""
    plan = plan_or_fail(options, warnings=True)
    names = (
        [pick(n.strip(), plan.workers, "pool") for n in only.split(",")]
        if only
        else list(plan.workers)
    )
    servers = _ensure_broker(plan)
    env = dict(os.environ, AIR_CONFIG_DIR=str(options.config_dir.resolve()), PYTHONUNBUFFERED="1")
    # Children write to a pipe; a person watching a terminal still wants readable lines.
    env.setdefault("AIR_LOG_FORMAT", "console" if sys.stdout.isatty() else "json")
    # Each child is `air run POOL` / `air beat`: the same path an operator runs by hand.
    air = [sys.executable, "-m", "cli.main"]
    level = ["--loglevel", loglevel.upper()]
    # A pool of several processes is one child per process, so each is restarted on its own.
    children = [c for n in names for c in pool_children(plan.workers[n], env, level)]
    if not no_beat:
        children.append(Child(name="beat", argv=[*air, "beat", *level], env=env))
    supervisor = Supervisor(children, grace=grace, color=options.color)
    previous = {
        sig: signal.signal(sig, _stopper(supervisor)) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        supervisor.start_all()
        _print_table(plan, children)
        supervisor.watch()
        click.echo("air: shutting down (warm; Ctrl-C again does not hurry it)", err=True)
        killed = supervisor.shutdown()
        if killed:
            click.echo(
                f"air: killed after the {grace:g}s grace period: {', '.join(killed)}", err=True
            )
    finally:
        if supervisor.children and not supervisor.stopping.is_set():
            supervisor.shutdown()
        for server in servers:
            click.echo(f"air: stopping the embedded Redis on port {server.port}", err=True)
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("air: stopped", err=True)


def _stopper(supervisor: Supervisor):  # type: ignore[no-untyped-def]
    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        supervisor.stop()

    return handler


def _ensure_broker(plan: Plan) -> list[embedded.RedisServer]:
    """Use the configured Redis servers that answer; start the others, if they are on this
    machine. Returns the servers started here, to stop on the way out."""
    started: list[embedded.RedisServer] = []
    for url in (plan.celery["broker_url"], plan.celery["result_backend"]):
        host, port = embedded.host_port(url)
        if embedded.answers(host, port):
            continue
        if not embedded.is_loopback(url):
            raise BrokerUnreachable(
                f"nothing answers at {redact(url)}",
                hint="start that Redis, or point the URL at 127.0.0.1 so `air up` can start one",
            )
        server = embedded.RedisServer(port, STATE_DIR / f"redis-{port}", persistent=True)
        click.echo(
            f"air: no Redis on 127.0.0.1:{port}; starting an embedded one "
            f"({server.binary}, data in {server.directory})",
            err=True,
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
        worker = plan.workers.get(child.name) or next(
            (w for w in plan.workers.values() if child.name.startswith(f"{w.pool}.")), None
        )
        if worker is None:
            rows.append([child.name, "-", "-", str(child.pid)])
        else:
            rows.append(
                [child.name, ",".join(worker.queues), str(_slots(worker)), str(child.pid)]
            )
    echo_table(rows, ["POOL", "QUEUES", "CONCURRENCY", "PID"])
    click.echo(f"broker {redact(plan.celery['broker_url'])}; Ctrl-C stops everything")


def _slots(worker: WorkerPlan) -> int:
    return worker.concurrency // worker.processes
