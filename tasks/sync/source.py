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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import structlog

from tasks import store
from tasks.data.transient import transient_database
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


class CursorRun:
    """What a run of either sync keeps: its target, the local path of its source, and the
    cursor it last committed; each commit moves that cursor on with the batch it belongs to."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.id = target.integration.id
        self.path = source_path(target.integration.source)
        self.expected: str | None = target.integration.sync_cursor

    def stored_cursor(self, fmt: str) -> dict[str, Any] | None:
        return read_cursor(self.target.integration, fmt)

    @contextmanager
    def commit(self, cursor: dict[str, Any], *, last: bool = False) -> Iterator[sa.Connection]:
        """A transaction that moves the cursor on (Superseded if another run moved it) with
        what the block writes; the last one also lifts a break this sync set."""
        dumped = dump_cursor(cursor)
        with store.transaction() as conn:
            advance(conn, self.id, self.expected, dumped)
            yield conn
            if last:
                lift_break(conn, self.id)
        self.expected = dumped


class SyncRun(Protocol):
    """One sync's own part: what it has to do (todo), a batch of that committed with its
    cursor, and the last commit, which lifts the break; both count what they did."""

    @property
    def todo(self) -> Sequence[Any]: ...

    @property
    def started(self) -> Mapping[str, Any]:
        """Fields of the started log record."""

    @property
    def summary(self) -> Mapping[str, Any]:
        """Fields of the result besides the counts."""

    def batch(self, items: Sequence[Any]) -> dict[str, int]: ...

    def finish(self) -> dict[str, int]: ...


def run_sync(
    integration_id: int, kind: str, counts: Sequence[str], start: Callable[[Target], SyncRun],
    batch_size: int, progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a sync of the integration (of `kind`) batch by batch and sum the batches' counts.

    A source that cannot be read breaks the integration (fail); a run superseded by another
    stops at the batch it was in, with what it committed before."""
    totals = dict.fromkeys(counts, 0)

    def add(done: dict[str, int]) -> None:
        for key in counts:
            totals[key] += done[key]

    with transient_database():
        target = load_target(integration_id, kind)
        try:
            run = start(target)
        except SourceError as exc:
            fail(integration_id, str(exc))
        log.info(f"{kind}_sync_started", integration_id=integration_id, **run.started)
        finished = 0
        try:
            for batch in chunks(run.todo, batch_size):
                try:
                    done = run.batch(batch)
                except SourceError as exc:
                    fail(integration_id, str(exc))
                add(done)
                finished += len(batch)
                log.info(f"{kind}_sync_batch", integration_id=integration_id, **done)
                if progress is not None:
                    progress(finished, len(run.todo))
            add(run.finish())
        except Superseded as exc:
            log.warning(f"{kind}_sync_superseded", integration_id=integration_id, error=str(exc))
            return {"integration_id": integration_id, **run.summary, "superseded": True,
                    **totals}
    log.info(f"{kind}_sync_done", integration_id=integration_id, **totals)
    return {"integration_id": integration_id, **run.summary, "superseded": False, **totals}
