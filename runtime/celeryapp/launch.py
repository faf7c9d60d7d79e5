"""Start a pool's worker or beat in this process, from the plan (no `celery` CLI in between:
its import alone costs ~0.25 s of every worker start)."""

from __future__ import annotations

from typing import Any

from celery import Celery, concurrency
from celery.utils.nodenames import default_nodename, host_format

from runtime.compiler.plan import WorkerPlan


def run_worker(app: Celery, worker: WorkerPlan, loglevel: str | None = None) -> int:
    options: dict[str, Any] = dict(worker.options)
    options["pool_cls"] = concurrency.get_implementation(options.pop("pool"))
    options["hostname"] = host_format(default_nodename(options["hostname"]))
    if "autoscale" in options:
        options["autoscale"] = tuple(options["autoscale"])
    if loglevel:
        options["loglevel"] = loglevel
    instance = app.Worker(**options)
    instance.start()
    return int(instance.exitcode or 0)


def run_beat(app: Celery, options: dict[str, Any], loglevel: str | None = None) -> int:
    app.Beat(**{**options, **({"loglevel": loglevel} if loglevel else {})}).run()
    return 0
