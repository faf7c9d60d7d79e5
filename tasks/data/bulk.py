"""data.bulk_operation: tag, untag, delete or merge many of a user's contacts, in batches.

Each batch of AIR_DATA_BATCH_SIZE contacts commits in its own transaction. One transaction for
the whole operation would be simpler, but on SQLite a writing transaction holds the database's
single write lock from BEGIN IMMEDIATE to COMMIT: tagging or deleting a hundred thousand
contacts at once would block every other writer (syncs, scoring, notifications) past its busy
timeout, and they would fail. Short batches let them in between. Every action is idempotent per
contact, so a run that dies half-way is finished by a retry (the done batches are no-ops), and
running the same operation again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.data.settings import DataSettings
from tasks.data.transient import transient_database
from tasks.errors import PermanentError, require_integer

log = structlog.get_logger(__name__)

ACTIONS = ("tag", "untag", "delete", "merge")
SELECTOR_KEYS = ("tag",)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkOperation:
    """A validated request: what to do to which contacts of which user."""

    user_id: int
    action: str
    contact_ids: tuple[int, ...] | None = None
    selector: Mapping[str, str] | None = None
    tags: tuple[str, ...] = ()
    keep_id: int | None = None

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any]) -> BulkOperation:
        """Check the task's arguments; anything wrong is a PermanentError (retrying cannot fix)."""
        unknown = set(kwargs) - {"user_id", "action", "contact_ids", "selector", "tags", "keep_id"}
        if unknown:
            raise PermanentError(f"unknown arguments: {sorted(unknown)}")
        action, ids, selector = kwargs.get("action"), kwargs.get("contact_ids"), kwargs.get(
            "selector")
        if action not in ACTIONS:
            raise PermanentError(f"action {action!r} is not one of {ACTIONS}")
        if (ids is None) == (selector is None):
            raise PermanentError("give exactly one of contact_ids and selector")
        if selector is not None and (not isinstance(selector, Mapping)
                                     or set(selector) != set(SELECTOR_KEYS)
                                     or not isinstance(selector["tag"], str)):
            raise PermanentError(f"selector must be {{'tag': '<tag>'}}, not {selector!r}")
        tags = kwargs.get("tags") or []
        if action in ("tag", "untag") and (
            not tags or not all(isinstance(t, str) and t.strip() for t in tags)
        ):
            raise PermanentError(f"action {action!r} needs tags: a list of non-empty strings")
        if (action == "merge") != (kwargs.get("keep_id") is not None):
            raise PermanentError("keep_id is required for merge, and only for merge")
        return cls(user_id=require_integer("user_id", kwargs.get("user_id")), action=action,
                   contact_ids=None if ids is None else tuple(_integers("contact_ids", ids)),
                   selector=selector, tags=tuple(tags),
                   keep_id=(None if action != "merge"
                            else require_integer("keep_id", kwargs["keep_id"])))


def _integers(name: str, values: Any) -> list[int]:
    if not isinstance(values, list | tuple):
        raise PermanentError(f"{name} must be a list of integers, not {values!r}")
    return [require_integer(name, v) for v in values]


def targets(conn: sa.Connection, op: BulkOperation) -> list[int]:
    """The user's active contacts the operation applies to, ascending (the keeper excluded)."""
    if store.get_user(conn, op.user_id) is None:
        raise PermanentError(f"no user {op.user_id}")
    if op.selector is not None:
        ids = store.contacts_with_tag(conn, user_id=op.user_id, tag=op.selector["tag"])
    else:
        ids = store.active_contact_ids(conn, user_id=op.user_id, contact_ids=op.contact_ids or ())
    if op.keep_id is None:
        return ids
    keeper = store.get_contact(conn, op.keep_id)
    if keeper is None or keeper.user_id != op.user_id or keeper.merged_into is not None:
        raise PermanentError(f"keep_id {op.keep_id} is not an active contact of user {op.user_id}")
    return [i for i in ids if i != op.keep_id]


def apply_batch(conn: sa.Connection, op: BulkOperation, batch: Sequence[int]) -> int:
    """Apply the operation to one batch; returns how many rows it changed (0 on a re-run)."""
    if op.action == "tag":
        return store.add_tags(conn, batch, op.tags)
    if op.action == "untag":
        return store.remove_tags(conn, batch, op.tags)
    # delete and merge act on contacts still active now, not when the targets were listed
    current = store.active_contact_ids(conn, user_id=op.user_id, contact_ids=batch)
    if op.action == "delete":
        return store.delete_contacts(conn, current)
    assert op.keep_id is not None  # parse() requires it for merge
    for drop_id in current:
        store.merge_contacts(conn, keep_id=op.keep_id, drop_id=drop_id)
    return len(current)


def run_bulk(
    op: BulkOperation, *, batch_size: int, progress: Progress | None = None
) -> dict[str, Any]:
    """Resolve the targets, then apply the operation batch by batch (a transaction each)."""
    with transient_database():
        with store.transaction(readonly=True) as conn:
            ids = targets(conn, op)
        log.info("bulk_started", action=op.action, user_id=op.user_id, contacts=len(ids),
                 batch_size=batch_size)
        changed, batches = 0, 0
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            with store.transaction() as conn:
                changed += apply_batch(conn, op, batch)
            batches += 1
            log.info("bulk_batch_done", batch=batches, done=start + len(batch), total=len(ids))
            if progress is not None:
                progress(start + len(batch), len(ids))
    log.info("bulk_done", action=op.action, contacts=len(ids), changed=changed)
    return {"action": op.action, "user_id": op.user_id, "contacts": len(ids), "changed": changed,
            "batches": batches}


@shared_task(name="data.bulk_operation", bind=True)
def bulk_operation(self: Any, **kwargs: Any) -> dict[str, Any]:
    """Kwargs: user_id, action (tag|untag|delete|merge), contact_ids or selector {"tag": ...},
    tags (tag/untag), keep_id (merge). Returns {action, user_id, contacts, changed, batches}."""
    op = BulkOperation.parse(kwargs)
    return run_bulk(op, batch_size=DataSettings.from_env().batch_size, progress=self.progress)
