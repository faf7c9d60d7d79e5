"""Shared data for the AI task tests: a user, contacts with history, meetings; and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from tasks import store
from tasks.store.db.tables import (
    briefings,
    contact_analyses,
    generated_messages,
    interaction_analyses,
)

RESULT_TABLES = (interaction_analyses, contact_analyses, briefings, generated_messages)


@dataclass
class World:
    user: int
    ann: int
    bob: int
    carl: int  # no interactions
    interactions: list[int]
    soon: int  # a meeting in 3 hours with Ann, Bob, the owner and a stranger
    later: int  # a meeting in 30 hours with Bob
    past: int  # a meeting that is over


def build_world() -> World:
    now = store.utcnow()
    with store.transaction() as conn:
        user = store.ensure_user(conn, email="dana@air.example", name="Dana Demo",
                                 timezone="Europe/Berlin")
        calendar = store.add_integration(conn, user_id=user, kind="calendar", provider="ics")
        ann = store.upsert_contact(conn, user_id=user, email="Ann.Lee@Acme.example",
                                   name="ann LEE", company="Acme")
        bob = store.upsert_contact(conn, user_id=user, email="bob@northwind.example",
                                   name="Bob Martin")
        carl = store.upsert_contact(conn, user_id=user, email="carl@x.example", name="Carl")
        history = [
            (ann, 30, "in", "Quarterly planning", "Can we review the Q3 roadmap next week? I "
             "would love your thoughts on the AI pilot.\n\n> quoted older mail\n"),
            (ann, 4, "in", "Re: Pricing", "Thanks, the demo was great. Could you send the "
             "pricing proposal by Friday? Our AI pilot budget is approved."),
            (ann, 2, "out", "Golf", "Loved the golf weekend. I will send the photos tomorrow."),
            (bob, 10, "in", "Outage", "The outage last night was frustrating. Please send a "
             "post-mortem before the renewal call."),
        ]
        ids = [store.record_interaction(conn, contact_id=c, kind="email", direction=d,
                                        occurred_at=now - timedelta(days=days), subject=s,
                                        body=b) or 0
               for c, days, d, s, b in history]
        store.record_interaction(conn, contact_id=carl, kind="call", occurred_at=now)  # no text

        def meeting(uid: str, hours: float, title: str, attendees: list[str]) -> int:
            start = now + timedelta(hours=hours)
            return store.upsert_meeting(
                conn, user_id=user, integration_id=calendar, uid=uid, starts_at=start,
                ends_at=start + timedelta(hours=1), title=title, location="Zoom",
                description="Review the AI pilot results. Please bring the budget numbers.",
                attendees=attendees)[0]

        soon = meeting("soon", 3, "AI pilot review", ["ann.lee@acme.example",
                                                      "bob@northwind.example",
                                                      "dana@air.example", "new@else.example"])
        later = meeting("later", 30, "Renewal call", ["bob@northwind.example"])
        past = meeting("past", -5, "Old sync", ["ann.lee@acme.example"])
    return World(user, ann, bob, carl, ids, soon, later, past)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    with store.transaction(readonly=True) as conn:
        return {table.name: [dict(row) for row in conn.execute(
            sa.select(table).order_by(*table.primary_key.columns)).mappings()]
            for table in RESULT_TABLES}


