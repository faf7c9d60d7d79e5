"""contacts.analyze_interactions: per-interaction features, and each contact's last/next touch.

The rules are in features.py. Work goes batch by batch, each batch its own transaction (a long
run never holds SQLite's single write lock for long): first every interaction without features,
then the touches of every active contact (or just the one asked for). A retry or a re-run
resumes cheaply: analysed interactions are skipped, and unchanged touches are not written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.contacts.features import interaction_features, previous_directed, touches, user_zone
from tasks.contacts.settings import ContactsSettings
from tasks.data.transient import transient_database
from tasks.errors import PermanentError, require_integer

log = structlog.get_logger(__name__)


class Zones:
    """The time zone of each contact's user, looked up once per contact and per user."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._by_user: dict[int, tzinfo] = {}
        self._by_contact: dict[int, tzinfo] = {}

    def of_contact(self, contact_id: int) -> tzinfo:
        if contact_id not in self._by_contact:
            contact = store.get_contact(self.conn, contact_id)
            user_id = contact.user_id if contact is not None else 0
            if user_id not in self._by_user:
                user = store.get_user(self.conn, user_id)
                self._by_user[user_id] = user_zone(user.timezone if user else None)
            self._by_contact[contact_id] = self._by_user[user_id]
        return self._by_contact[contact_id]


def add_features(conn: sa.Connection, rows: list[Any]) -> int:
    """Compute and store the features of these interaction rows; returns how many changed."""
    timelines = store.contact_timelines(conn, {row.contact_id for row in rows})
    positions = {item.id: index for timeline in timelines.values()
                 for index, item in enumerate(timeline)}
    zones, changed = Zones(conn), 0
    for row in rows:
        previous = previous_directed(timelines[row.contact_id], positions[row.id])
        features = interaction_features(row, previous, zones.of_contact(row.contact_id))
        changed += store.set_features(conn, row.id, features)
    return changed


def update_touches(conn: sa.Connection, contact_ids: Iterable[int]) -> int:
    """Recompute the last and next touch of these contacts; returns how many changed."""
    changed = 0
    for contact_id, timeline in store.contact_timelines(conn, contact_ids).items():
        last, following = touches([item.occurred_at for item in timeline])
        changed += store.set_touch(conn, contact_id, last_touch_at=last, next_touch_at=following)
    return changed


def analyze_interactions(*, contact_id: int | None, batch_size: int) -> dict[str, int]:
    """Features for every interaction lacking them, then touches; of one contact or of all."""
    summary = {"interactions_analyzed": 0, "contacts": 0, "touches_changed": 0}
    with transient_database():
        if contact_id is not None:
            with store.transaction(readonly=True) as conn:
                if store.get_contact(conn, contact_id) is None:
                    raise PermanentError(f"no contact {contact_id}")
                contact_id = store.resolve_contact(conn, contact_id)  # merged: its survivor
        after_id = 0
        while True:
            with store.transaction() as conn:
                rows = store.list_interactions(conn, contact_id=contact_id, without_features=True,
                                               after_id=after_id, limit=batch_size)
                if not rows:
                    break
                summary["interactions_analyzed"] += add_features(conn, rows)
            after_id = rows[-1].id
            log.info("interaction_features_batch", count=len(rows), last_id=after_id)
        after_id = 0
        while True:
            with store.transaction() as conn:
                if contact_id is not None:
                    ids = [contact_id] if after_id == 0 else []
                else:
                    ids = [row.id for row in store.list_contacts(conn, after_id=after_id,
                                                                 limit=batch_size)]
                if not ids:
                    break
                summary["touches_changed"] += update_touches(conn, ids)
            summary["contacts"] += len(ids)
            after_id = ids[-1]
    log.info("interactions_analyzed", contact_id=contact_id, **summary)
    return summary


@shared_task(name="contacts.analyze_interactions", bind=True)
def analyze(self: Any, contact_id: int | None = None) -> dict[str, int]:
    """Analyse one contact's interactions, or every contact's when `contact_id` is None.
    Returns {interactions_analyzed, contacts, touches_changed} (features and touches written)."""
    if contact_id is not None:
        require_integer("contact_id", contact_id)
    return analyze_interactions(contact_id=contact_id,
                                batch_size=ContactsSettings.from_env().batch_size)
