"""`air monitor`: a live terminal view of queues and pools, redrawn about once a second from the
task-event stream (a Tally) and the queue depths (list ends in Redis); `q` quits."""

from __future__ import annotations

import time
from typing import Any

import redis
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from runtime.broker.queues import QueueDepth, read_queues
from runtime.compiler.plan import Plan
from runtime.process.events import EventWatcher
from runtime.process.keys import Keys
from runtime.process.tally import PoolLoad, QueueFlow, Tally

REFRESH = 1.0  # seconds between redraws


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.0f}m"


def queue_table(
    plan: Plan, depths: list[QueueDepth], flows: dict[str, QueueFlow], now: float
) -> Table:
    table = Table(title="queues", title_justify="left", expand=True)
    for column in (
        "queue",
        "waiting",
        "oldest",
        "running",
        "tasks/s",
        "failed",
        "wait p50",
        "wait p99",
    ):
        table.add_column(column, justify="left" if column == "queue" else "right", no_wrap=True)
    found = {d.name: d for d in depths}
    for queue in plan.queues:
        depth, flow = found.get(queue.name), flows[queue.name]
        oldest = depth.oldest_age(now) if depth else None
        age = seconds(oldest) + ("?" if depth and depth.unstamped else "") if depth else "-"
        table.add_row(
            queue.name,
            str(depth.depth) if depth else "?",
            age if depth and depth.depth else "-",
            str(flow.running),
            f"{flow.rate:.1f}",
            str(flow.failed),
            seconds(flow.wait_p50),
            seconds(flow.wait_p99),
        )
    return table


def pool_table(pools: dict[str, PoolLoad]) -> Table:
    table = Table(title="pools", title_justify="left", expand=True)
    for column in ("pool", "workers", "busy/total", "hosts"):
        table.add_column(
            column, justify="right" if column in ("workers", "busy/total") else "left", no_wrap=True
        )
    for name, load in sorted(pools.items()):
        table.add_row(
            name,
            str(len(load.workers)),
            f"{load.busy}/{load.processes}",
            ", ".join(w.partition("@")[2] for w in load.workers) or Text("no worker", "red"),
        )
    return table


class Monitor:
    def __init__(self, app: Any, plan: Plan, client: redis.Redis, title: str) -> None:
        self.plan, self.client, self.title = plan, client, title
        self.tally = Tally(route=lambda task: plan.route(task)[0])
        self.watcher = EventWatcher(app, self.tally)
        self.declared = {name: w.concurrency for name, w in plan.workers.items()}

    def view(self) -> Group:
        now = time.time()
        try:
            depths = read_queues(self.client, [q.name for q in self.plan.queues])
            status = Text(f"{self.title}   q quits", "bold")
        except redis.RedisError as exc:
            depths = []
            status = Text(f"{self.title}   broker: {exc}", "bold red")
        flows = self.tally.flows([q.name for q in self.plan.queues])
        return Group(
            status,
            queue_table(self.plan, depths, flows, now),
            pool_table(self.tally.pools(self.declared)),
        )

    def run(self, console: Console | None = None, keys: Keys | None = None) -> None:
        """Redraw until `q` (or Ctrl-C, which the caller turns into its exit code)."""
        self.watcher.start()
        keys = keys or Keys()
        try:
            with (
                keys,
                Live(
                    self.view(), console=console, screen=keys.interactive, auto_refresh=False
                ) as live,
            ):
                while True:
                    deadline = time.monotonic() + REFRESH
                    while (left := deadline - time.monotonic()) > 0:
                        if (keys.read(left) or "").lower() == "q":
                            return
                    live.update(self.view(), refresh=True)
        finally:
            self.watcher.stop()
