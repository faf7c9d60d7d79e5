"""Every default value of the config, in one place.

The JSON Schemas repeat these as `default` keywords for editors; a unit test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

CONFIG_DIR = "config"
QUEUES_FILE = "queues.yaml"
SCHEDULES_FILE = "schedules.yaml"
WORKFLOWS_FILE = "workflows.yaml"  # optional

IMPORTS: tuple[str, ...] = ("tasks",)

BROKER: dict[str, Any] = {
    "url": "redis://127.0.0.1:6379/0",
    # result_backend defaults to the broker URL itself (see model.py)
    "visibility_timeout": "1h",
    "result_expires": "1d",
}

QUEUE: dict[str, Any] = {
    "delivery": "at_least_once",
}

POOL: dict[str, Any] = {
    "concurrency": 1,
    "max_tasks_per_child": None,
    "max_memory_per_child": None,
    # One message reserved per process: a backlog of low-priority work never sits in a worker's
    # buffer in front of urgent work that arrives later.
    "prefetch_multiplier": 1,
    # None: solo when a process has one slot, else prefork (runtime/compiler/workers.py).
    "pool": None,
    # None: one process per core, at most `concurrency` (runtime/compiler/workers.py).
    "processes": None,
    "autoscale": None,
    "task_events": True,
    # One copy of each pool's worker, as `air up` runs; a deployment scales within these bounds.
    "replicas": {"min": 1, "max": 1},
}

TASK: dict[str, Any] = {
    "queue": "default",
    "acks_late": True,
    # Stored only when the sender asks: most results (beat, air send) are never read.
    "result": "on_request",
    "time_limit": None,
    "rate_limit": None,
    "expires": None,
    "dead_letter": True,
    "description": "",
}

RATE_LIMIT: dict[str, Any] = {"scope": "worker"}  # a plain '30/m' holds per worker node
UNIQUE: dict[str, Any] = {"key": []}  # no key: one task of the name at a time

RETRY: dict[str, Any] = {
    "max": 3,
    "backoff": "exponential",
    "initial": "2s",
    "max_delay": "10m",
    "jitter": True,
    "errors": ["Exception"],
}

TIMEZONE = "UTC"

SCHEDULE: dict[str, Any] = {
    "args": [],
    "kwargs": {},
    "overlap": "allow",
    # A restart or a failover between beats takes seconds: a minute's grace sends those fires
    # late rather than never, without replaying a long outage's backlog.
    "catch_up": "1m",
    "jitter": "0s",
    "enabled": True,
    "description": "",
}

WORKFLOW_STEP: dict[str, Any] = {"args": [], "kwargs": {}, "input": "previous"}
