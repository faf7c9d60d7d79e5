"""Start a pool's worker or beat in this process, from the plan (no `celery` CLI in between:
its import alone costs ~0.25 s of every worker start).

When logs are JSON (runtime/celeryapp/logs.py) Celery's text banners are off and the same facts
go out as one JSON line, so a log collector sees nothing but JSON objects.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

import structlog
from celery import Celery, concurrency
from celery.exceptions import CPendingDeprecationWarning
from celery.utils.nodenames import default_nodename, host_format

from runtime.broker.transport import check_kombu
from runtime.celeryapp import logs, solo
from runtime.compiler.plan import WorkerPlan
from runtime.config.redact import redact

logger = structlog.get_logger("air.launch")


def run_worker(
    app: Celery, worker: WorkerPlan, loglevel: str | None = None, process: int = 1
) -> int:
    """Run process number `process` (1..worker.processes) of the pool."""
    check_kombu()
    # Celery warns at every lost connection that it will cancel running tasks by default in
    # 6.0; air chooses not to (runtime/compiler/compile.py says why): not news for an operator.
    warnings.filterwarnings(
        "ignore", message=r"\s*In Celery 5.1 we introduced", category=CPendingDeprecationWarning
    )
    options: dict[str, Any] = dict(worker.options)
    kind = options.pop("pool")
    options["pool_cls"] = concurrency.get_implementation(kind)
    options["hostname"] = host_format(default_nodename(worker.hostnames[process - 1]))
    if "autoscale" in options:
        options["autoscale"] = tuple(options["autoscale"])
    if loglevel:
        options["loglevel"] = loglevel
    if _json_logs(options["loglevel"]):
        options["quiet"] = True
        logger.info(
            "worker starting",
            hostname=options["hostname"],
            queues=list(worker.queues),
            concurrency=options.get("concurrency"),
            pool=worker.options["pool"],
            broker=redact(app.conf.broker_url),
        )
    if kind == "solo":
        solo.install(options.get("max_tasks_per_child"), options.get("max_memory_per_child"))
    instance = app.Worker(**options)
    instance.start()
    return int(instance.exitcode or 0)


def run_beat(app: Celery, options: dict[str, Any], loglevel: str | None = None) -> int:
    options = {**options, **({"loglevel": loglevel} if loglevel else {})}
    if _json_logs(options.get("loglevel", "INFO")):
        options["quiet"] = True
        logger.info(
            "beat starting",
            broker=redact(app.conf.broker_url),
            scheduler=str(options.get("scheduler")),
        )
    app.Beat(**options).run()
    return 0


def _json_logs(level: str | int) -> bool:
    """Set up JSON logging now, before Celery prints anything, if logs are JSON. Python
    warnings (Celery's SecurityWarning for root, say) then become log records too."""
    if not logs.use_json(sys.stderr):
        return False
    logs.configure(level)
    logging.captureWarnings(True)
    return True
