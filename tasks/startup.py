"""Worker start-up for the catalogue: the store's schema is created or migrated before any task
runs, in the worker's main process (before the pool forks, so children start clean)."""

from __future__ import annotations

from typing import Any

import structlog
from celery import signals

from tasks import store

log = structlog.get_logger(__name__)


@signals.worker_init.connect(weak=False)
def migrate_store(**_: Any) -> None:
    applied = store.migrate()
    log.info("store_ready", url=store.database_url().render_as_string(hide_password=True),
             migrations_applied=applied)
    store.dispose_engine()  # no pooled connection crosses the fork into the pool processes
