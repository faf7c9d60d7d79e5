"""The processes of a pool: one `air run POOL --process I` each, for `air run` and `air up`."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import click

from runtime.compiler.plan import WorkerPlan
from runtime.process.supervisor import Child, Supervisor

AIR = [sys.executable, "-m", "cli.main"]
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def pool_children(worker: WorkerPlan, env: dict[str, str], extra: list[str]) -> list[Child]:
    """Named POOL when the pool runs one process, else POOL.1 .. POOL.N (as their node names)."""
    return [
        Child(
            name=worker.pool if worker.processes == 1 else f"{worker.pool}.{i}",
            argv=[*AIR, "run", worker.pool, "--process", str(i), *extra],
            env=env,
        )
        for i in range(1, worker.processes + 1)
    ]


def supervised(worker: WorkerPlan) -> bool:
    """Several processes, or a solo one that replaces itself after max_tasks/memory_per_child:
    `air run` starts them as children and restarts each that exits."""
    options = worker.options
    recycles = "max_tasks_per_child" in options or "max_memory_per_child" in options
    return worker.processes > 1 or (options["pool"] == "solo" and recycles)


def die_with_parent() -> None:
    """A pool process started by `air run` or `air up` goes when they go, even by SIGKILL:
    an orphan would keep consuming from the queues with no one to stop it. Linux only."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent went before prctl took effect
        raise SystemExit(1)


def supervise(children: list[Child], grace: float, color: bool) -> list[str]:
    """Run the children until SIGINT or SIGTERM, restarting any that exits; then stop them
    warm. Returns the names of those killed after the grace period."""
    supervisor = Supervisor(children, grace=grace, color=color)

    def stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        supervisor.stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        supervisor.start_all()
        supervisor.watch()
        return supervisor.shutdown()
    finally:
        if not supervisor.stopping:
            supervisor.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def echo_killed(killed: list[str], grace: float) -> None:
    if killed:
        click.echo(f"air: killed after the {grace:g}s grace period: {', '.join(killed)}", err=True)
