"""auth.oauth_cleanup: delete the OAuth states whose authorisation window has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from celery import shared_task

from tasks import store

log = structlog.get_logger(__name__)


def cleanup_states(*, now: datetime | None = None) -> int:
    """Delete every state expired at `now`, in one transaction; returns how many went.

    A state is only ever consumed by the OAuth callback within its TTL, so an expired one can
    never be used again and keeping it only grows the table.
    """
    with store.transaction() as conn:
        deleted = store.delete_expired_oauth_states(conn, now=now or store.utcnow())
    log.info("oauth_states_deleted", count=deleted)
    return deleted


@shared_task(name="auth.oauth_cleanup", bind=True)
def oauth_cleanup(self: Any) -> dict[str, int]:
    """Delete expired OAuth states; returns {"deleted": n}."""
    return {"deleted": cleanup_states()}
