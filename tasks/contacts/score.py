"""contacts.score_relationships: a recency/frequency score 0..100 for every active contact.

    days      = whole days since the contact's latest interaction before `now` (floor, >= 0)
    recency   = exp(-days / 30)                                  1.0 today, 0.37 after 30 days
    n_90d     = interactions in [now - 90 days, now)
    frequency = min(1, log1p(n_90d) / log1p(20))                 1.0 from 20 interactions on
    score     = round(100 * (0.6 * recency + 0.4 * frequency), 1)

A contact without interactions scores 0. Recency and frequency are stored rounded to 4 places.
Counting whole days keeps a contact's score fixed for a day, so the 6-hourly schedule rewrites
a score at most once a day per contact (store.save_score never rewrites an identical score).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from celery import shared_task

from tasks import store
from tasks.contacts.settings import ContactsSettings
from tasks.data.transient import transient_database

log = structlog.get_logger(__name__)

RECENCY_DAYS = 30.0
FREQUENCY_WINDOW = timedelta(days=90)
FREQUENCY_SATURATION = 20
RECENCY_WEIGHT, FREQUENCY_WEIGHT = 0.6, 0.4


@dataclass(frozen=True, slots=True)
class Score:
    score: float
    recency: float
    frequency: float


def relationship_score(*, now: datetime, last_at: datetime | None, recent_count: int) -> Score:
    """The score of a contact last in touch at `last_at` with `recent_count` interactions in
    the 90 days before `now` (formula in the module docstring)."""
    if last_at is None:
        recency = 0.0
    else:
        days = max(0, math.floor((now - last_at) / timedelta(days=1)))
        recency = math.exp(-days / RECENCY_DAYS)
    frequency = min(1.0, math.log1p(max(0, recent_count)) / math.log1p(FREQUENCY_SATURATION))
    score = round(100 * (RECENCY_WEIGHT * recency + FREQUENCY_WEIGHT * frequency), 1)
    return Score(score=score, recency=round(recency, 4), frequency=round(frequency, 4))


def score_all(
    *, now: datetime, batch_size: int, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Score every active contact; each page of contacts is one transaction."""
    summary = {"contacts": 0, "changed": 0}
    with transient_database():
        with store.transaction(snapshot=True) as conn:
            before_now = store.activity_by_contact(conn, until=now)
            window = store.activity_by_contact(conn, since=now - FREQUENCY_WINDOW, until=now)
            last = {row.contact_id: row.last_at for row in before_now}
            recent = {row.contact_id: int(row._mapping["count"]) for row in window}
            # Every active contact that exists (created before tomorrow by the wall clock: `now`
            # may lie in the past), for the progress total.
            tomorrow = store.utcnow() + timedelta(days=1)
            total = store.contact_counts(conn, start=tomorrow, end=tomorrow)["total"]
        after_id = 0
        while True:
            with store.transaction() as conn:
                page = store.list_contacts(conn, after_id=after_id, limit=batch_size)
                for row in page:
                    result = relationship_score(now=now, last_at=last.get(row.id),
                                                recent_count=recent.get(row.id, 0))
                    summary["changed"] += store.save_score(
                        conn, contact_id=row.id, score=result.score, recency=result.recency,
                        frequency=result.frequency, computed_at=now)
            if not page:
                break
            after_id, summary["contacts"] = page[-1].id, summary["contacts"] + len(page)
            if progress is not None:
                progress(summary["contacts"], max(total, summary["contacts"]))
    log.info("relationships_scored", **summary)
    return summary


@shared_task(name="contacts.score_relationships", bind=True)
def score_relationships(self: Any) -> dict[str, int]:
    """Re-score every active contact at the current time; returns {contacts, changed}."""
    return score_all(now=store.utcnow(), batch_size=ContactsSettings.from_env().batch_size,
                     progress=self.progress)
