"""Who is running: one bounded broadcast to every worker, the queue depths and beat's state,
read together into a Snapshot that `air health` and `air status` (and later the monitor and the
exporter) evaluate."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from runtime.broker.beats import live_beats
from runtime.broker.clients import broker_client
from runtime.broker.fires import LAST_RUN
from runtime.broker.queues import QueueDepth, read_queues
from runtime.broker.redis_values import text
from runtime.broker.workflow_runs import STATES, WorkflowRuns
from runtime.celeryapp.control import COMMAND
from runtime.compiler.plan import Plan
from runtime.compiler.workers import pool_of
from runtime.config.errors import BrokerUnreachable
from runtime.config.redact import redact

REPLY_TIMEOUT = 1.0  # seconds the broadcast waits after the last reply (Celery's own default)
CONNECT_TIMEOUT = 1.0  # seconds before an unreachable broker is reported
# kombu's Redis transport blocks in BRPOP for polling_interval (default 1 s) at a time, which
# rounds every reply wait up to whole seconds; a short interval lets `timeout` mean what it says.
REPLY_POLLING = {"polling_interval": 0.1}


@dataclass(frozen=True, slots=True, kw_only=True)
class Worker:
    """One worker node as it answered air_info (runtime/celeryapp/control.py)."""

    node: str  # POOL@HOST
    pool: str
    config_checksum: str
    concurrency: int
    processes: int
    queues: tuple[str, ...]
    active: int
    reserved: int
    processed: int

    @property
    def host(self) -> str:
        return self.node.partition("@")[2] or self.node


@dataclass(frozen=True, slots=True, kw_only=True)
class Beat:
    beats: tuple[str, ...] = ()  # "host:pid" of every beat that ticked within ALIVE_TTL
    last_run: dict[str, datetime] = field(default_factory=dict)  # schedule -> last send

    @property
    def owner(self) -> str | None:
        """Who runs beat: every live beat (any number may run; each fire is sent once)."""
        return ", ".join(self.beats) or None

    @property
    def alive(self) -> bool:
        return bool(self.beats)


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    taken_at: float  # epoch seconds
    workers: tuple[Worker, ...]
    queues: tuple[QueueDepth, ...]
    beat: Beat
    # Runs per workflow and state (runtime/broker/workflow_runs.py), declared ones included
    workflows: dict[str, dict[str, int]] = field(default_factory=dict)

    def workers_of(self, pool: str) -> list[Worker]:
        return [w for w in self.workers if w.pool == pool]

    def queue(self, name: str) -> QueueDepth:
        return next(q for q in self.queues if q.name == name)


def snapshot(
    app: Any,
    plan: Plan,
    timeout: float = REPLY_TIMEOUT,
    enough: Callable[[list[Worker]], bool] | None = None,
) -> Snapshot:
    """Everything health and status read, in about `timeout` seconds (sooner once `enough` of
    the workers answered); BrokerUnreachable when Redis does not answer."""
    with _reach(plan.celery) as client:
        queues = read_queues(client, [q.name for q in plan.queues])
        beat = read_beat(client)
        counts = WorkflowRuns(client).counts()
    return Snapshot(
        taken_at=time.time(),
        workers=tuple(sorted(ask_workers(app, timeout, enough), key=lambda w: w.node)),
        queues=tuple(queues),
        beat=beat,
        workflows={
            name: counts.get(name, dict.fromkeys(STATES, 0))
            for name in sorted(set(plan.workflows) | set(counts))
        },
    )


class _Enough(Exception):
    """Raised from the reply callback to stop waiting once the caller has what it needs."""


def ask_workers(
    app: Any, timeout: float = REPLY_TIMEOUT, enough: Callable[[list[Worker]], bool] | None = None
) -> list[Worker]:
    """Every worker that answers air_info within `timeout` of the last reply; with `enough`,
    only until enough(workers so far) holds (Celery can stop early only at a reply count)."""
    found: list[Worker] = []

    def collect(reply: dict[str, Any]) -> None:
        found.extend(_worker(node, info) for node, info in reply.items() if _is_info(info))
        if enough is not None and enough(found):
            raise _Enough

    # A connection of its own, closed afterwards: a pooled one would go back mid-read.
    with app.connection_for_write(transport_options=REPLY_POLLING) as connection:
        try:
            app.control.broadcast(
                COMMAND, reply=True, timeout=timeout, connection=connection, callback=collect
            )
        except _Enough:
            pass
    return found


def _is_info(info: Any) -> bool:
    return isinstance(info, dict) and "pool" in info


def local_node(pool: str) -> str:
    """The node name `air run POOL` gives its worker on this host (the compiled POOL@%h)."""
    return f"{pool}@{socket.gethostname()}"


def probe(app: Any, pool: str, timeout: float = REPLY_TIMEOUT) -> bool:
    """True when this host's worker of `pool` answers a ping; returns at its first reply."""
    node = local_node(pool)
    with app.connection_for_write(transport_options=REPLY_POLLING) as connection:
        replies = app.control.ping(
            destination=[node], timeout=timeout, limit=1, connection=connection
        )
    return any(node in reply for reply in replies or ())


def read_beat(client: Any) -> Beat:
    """The live beats (their heartbeat keys, runtime/broker/beats.py) and each schedule's
    last send (runtime/broker/fires.py)."""
    last_run = client.hgetall(LAST_RUN)
    return Beat(
        beats=tuple(b.name for b in live_beats(client)),
        last_run={text(k): datetime.fromisoformat(text(v)) for k, v in last_run.items()},
    )


class _reach:
    """A short-timeout Redis client that has answered PING, closed on exit."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.url = str(settings["broker_url"])
        self.client = broker_client(
            settings, timeout=CONNECT_TIMEOUT, connect_timeout=CONNECT_TIMEOUT
        )

    def __enter__(self) -> Any:
        try:
            self.client.ping()
        except (redis.RedisError, OSError) as exc:
            self.client.close()
            raise BrokerUnreachable(
                f"the broker at {redact(self.url)} does not answer: {exc}",
                hint="start Redis (or `air up`, which starts one), or fix broker.url",
            ) from None
        return self.client

    def __exit__(self, *_: object) -> None:
        self.client.close()


def _worker(node: str, info: dict[str, Any]) -> Worker:
    return Worker(
        node=node,
        pool=str(info.get("pool") or pool_of(node)),
        config_checksum=str(info.get("config_checksum") or ""),
        concurrency=int(info.get("concurrency") or 0),
        processes=int(info.get("processes") or 0),
        queues=tuple(info.get("queues") or ()),
        active=int(info.get("active") or 0),
        reserved=int(info.get("reserved") or 0),
        processed=int(info.get("processed") or 0),
    )
