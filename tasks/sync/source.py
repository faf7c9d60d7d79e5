"""What both syncs share: the integration and its local source, the cursor, failure records.

A source is a local path or a file:// URL (the conventions of integrations.health_check). A
source that is missing or unreadable breaks the integration with an error prefixed 'sync: ',
and the task fails permanently; the next sync that succeeds lifts that break again (a break set
by anything else, such as a revoked token, is left for its owner to lift).

The cursor (integrations.sync_cursor) is JSON owned by each sync. Every batch commits its items
together with the advanced cursor, after checking that the cursor is still the one this run
started from: two runs of one integration at once cannot both advance it (the later one stops).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import structlog

from tasks import store
from tasks.errors import PermanentError

log = structlog.get_logger(__name__)

SYNC_PREFIX = "sync: "
T = TypeVar("T")


class SourceError(Exception):
    """Raised when an integration's source cannot be read: it breaks the integration."""


class Superseded(Exception):
    """Raised inside a batch's transaction when another run moved the cursor meanwhile."""


@dataclass(frozen=True, slots=True)
class Target:
    integration: Any  # the integrations row
    user_id: int
    user_email: str | None
    user_timezone: str | None


def load_target(integration_id: int, kind: str) -> Target:
    """The integration (of `kind`) and its user; PermanentError when either is missing."""
    with store.transaction(readonly=True) as conn:
        row = store.get_integration(conn, integration_id)
        if row is None:
            raise PermanentError(f"no integration {integration_id}")
        if row.kind != kind:
            raise PermanentError(f"integration {integration_id} is a {row.kind} integration, "
                                 f"not {kind}")
        user = store.get_user(conn, row.user_id)
    return Target(row, row.user_id, user.email if user else None,
                  user.timezone if user else None)


def source_path(source: str | None) -> Path:
    """The local path a source names; SourceError for none or a non-local URL."""
    if not source or not source.strip():
        raise SourceError("the integration has no source")
    parts = urlsplit(source.strip())
    scheme = parts.scheme.lower()
    if scheme == "file":
        return Path(unquote(parts.path))
    if scheme == "" or len(scheme) == 1:  # a plain path (one letter: a Windows drive)
        return Path(source.strip()).expanduser()
    raise SourceError(f"source {source} is not a local path or file:// URL")


def fail(integration_id: int, error: str) -> NoReturn:
    """Break the integration with `error` (committed) and fail the task permanently."""
    with store.transaction() as conn:
        store.set_status(conn, integration_id, "broken", error=SYNC_PREFIX + error)
    log.error("sync_source_failed", integration_id=integration_id, error=error)
    raise PermanentError(error)


def read_cursor(row: Any, fmt: str) -> dict[str, Any] | None:
    """The integration's cursor if it is this sync's `fmt`, else None (start over)."""
    try:
        cursor = json.loads(row.sync_cursor) if row.sync_cursor else None
    except ValueError:
        return None
    if isinstance(cursor, dict) and cursor.get("v") == 1 and cursor.get("format") == fmt:
        return cursor
    return None


def dump_cursor(cursor: dict[str, Any]) -> str:
    return json.dumps(cursor, sort_keys=True, separators=(",", ":"))


def advance(conn: sa.Connection, integration_id: int, expected: str | None,
            cursor: str | None) -> None:
    """Move the cursor from `expected` to `cursor` in this transaction, or raise Superseded."""
    row = store.lock_integration(conn, integration_id)
    if row is None or row.sync_cursor != expected:
        raise Superseded(f"integration {integration_id}: the cursor moved during this sync")
    if cursor != expected:
        store.set_cursor(conn, integration_id, cursor)


def lift_break(conn: sa.Connection, integration_id: int) -> bool:
    """Clear a break this sync set before; True if it did."""
    row = store.lock_integration(conn, integration_id)
    if row is None or row.status != "broken" or not (row.last_error or "").startswith(
            SYNC_PREFIX):
        return False
    store.set_status(conn, integration_id, "ok")
    log.info("sync_source_recovered", integration_id=integration_id)
    return True


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
