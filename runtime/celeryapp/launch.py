"""Start a pool's worker or beat in this process, from the plan (no `celery` CLI in between:
its import alone costs ~0.25 s of every worker start)."""

from __future__ import annotations

from typing import Any

from celery import Celery, concurrency
from celery.utils.nodenames import default_nodename, host_format

from runtime.broker.transport import check_kombu
from runtime.celeryapp import solo
from runtime.compiler.plan import WorkerPlan


def run_worker(
    app: Celery, worker: WorkerPlan, loglevel: str | None = None, process: int = 1
) -> int:
    """Run process number `process` (1..worker.processes) of the pool."""
    check_kombu()
    options: dict[str, Any] = dict(worker.options)
    kind = options.pop("pool")
    options["pool_cls"] = concurrency.get_implementation(kind)
    options["hostname"] = host_format(default_nodename(worker.hostnames[process - 1]))
    if "autoscale" in options:
        options["autoscale"] = tuple(options["autoscale"])
    if loglevel:
        options["loglevel"] = loglevel
    if kind == "solo":
        solo.install(options.get("max_tasks_per_child"), options.get("max_memory_per_child"))
    instance = app.Worker(**options)
    instance.start()
    return int(instance.exitcode or 0)


def run_beat(app: Celery, options: dict[str, Any], loglevel: str | None = None) -> int:
    app.Beat(**{**options, **({"loglevel": loglevel} if loglevel else {})}).run()
    return 0
