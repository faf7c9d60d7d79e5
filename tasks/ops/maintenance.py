"""ops.maintenance: prune old dead letters, clean expired task results, VACUUM and ANALYZE.

Only what has no expiry of its own is pruned here. Dead letters are kept until an operator
looks at them, so they are pruned past AIR_DEAD_LETTER_RETENTION. Task results expire by
themselves on Redis (result_expires in queues.yaml); the result backend's cleanup() is still
called, which deletes expired results on backends that need it (a database) and does nothing
on Redis. Beat's overlap locks carry a TTL already. Data retention is data.cleanup's job.
Running maintenance twice prunes nothing the second time; VACUUM and ANALYZE change no data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
import structlog
from celery import shared_task

from runtime.broker.clients import broker_client
from runtime.broker.deadletter import DeadLetterStore
from runtime.config.units import format_duration, parse_duration
from tasks import store
from tasks.data.transient import transient_database
from tasks.errors import TransientError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceSettings:
    # AIR_DEAD_LETTER_RETENTION: how long a dead letter is kept (a duration: 30d, 12h, 3600)
    dead_letter_retention: timedelta = timedelta(days=30)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MaintenanceSettings:
        raw = env.get("AIR_DEAD_LETTER_RETENTION", "").strip()
        if not raw:
            return cls()
        try:
            return cls(dead_letter_retention=parse_duration(int(raw) if raw.isdigit() else raw))
        except ValueError as exc:
            raise ValueError(f"AIR_DEAD_LETTER_RETENTION={raw!r}: {exc}") from None


def prune_dead_letters(letters: DeadLetterStore, retention: timedelta) -> int:
    try:
        pruned = letters.prune(retention)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise TransientError(f"Redis unavailable for the dead letters: {exc}") from exc
    log.info("dead_letters_pruned", count=pruned, retention=format_duration(retention))
    return pruned


def run_maintenance(
    letters: DeadLetterStore, settings: MaintenanceSettings, results_backend: Any = None
) -> dict[str, Any]:
    pruned = prune_dead_letters(letters, settings.dead_letter_retention)
    if results_backend is not None:
        results_backend.cleanup()
        log.info("task_results_cleaned", backend=type(results_backend).__name__)
    with transient_database():
        database = store.database_url().get_backend_name()
        store.vacuum_analyze()
    log.info("database_vacuumed", database=database)
    return {"dead_letters_pruned": pruned, "results_cleaned": results_backend is not None,
            "vacuumed": database}


@shared_task(name="ops.maintenance", bind=True)
def maintenance(self: Any) -> dict[str, Any]:
    """Prune old dead letters, clean expired results, VACUUM/ANALYZE the database.
    Returns {dead_letters_pruned, results_cleaned, vacuumed}."""
    letters = DeadLetterStore(broker_client(self.app.conf, timeout=10, connect_timeout=5))
    try:
        return run_maintenance(letters, MaintenanceSettings.from_env(), self.app.backend)
    finally:
        letters.client.close()
