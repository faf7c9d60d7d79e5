"""Demo data: a small, realistic AIR data set, so the scheduled tasks have work after `air up`.

`air seed-demo` writes it into the configured store (SQLite under .air/ by default) plus a
Maildir and a directory of iCalendar files under `.air/demo/` for the sync tasks to import.
Deterministic (fixed names, texts and offsets from `now`) and safe to run twice: a second run
finds the demo user and changes nothing.
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tasks import store
from tasks.store.db.tables import contacts
from tasks.store.queries.normalize import normalize_email, normalize_phone

USER = ("dana@air.example", "Dana Demo")

# name, email, phone, company: messy on purpose (contacts.process cleans them up), with
# duplicates that data.deduplicate must find: a shared phone, a near-identical name at one company.
CONTACTS = [
    ("  ann LEE ", "Ann.Lee@Acme-Corp.example", "+1 (415) 555-0101", None),
    ("Ann Lee", None, "+1 415.555.0101", None),
    ("BOB MARTIN", "bob.martin@northwind.example", None, None),
    ("carla gomez", "carla@gmail.com", "+44 20 7946 0958", None),
    ("Jon Smith", "jon.smith@globex.example", None, "Globex"),
    ("John Smith", "john.smith@globex.example", None, "Globex"),
    ("Priya Natarajan", "priya@initech.example", "+91 80 4000 1234", None),
    ("Mei Chen", "mei.chen@umbrella.example", None, None),
    ("Lukas Weber", "lukas.weber@contoso.example", "+49 30 901820", None),
    ("Sofia Rossi", "sofia.rossi@outlook.com", None, None),
    ("Tom Okafor", "tom@hooli.example", "+1 212 555 0199", None),
    ("Elena Petrova", "elena.petrova@wayne-enterprises.example", None, None),
]

# (contact email, days ago, direction, subject, body): history already in the store.
HISTORY = [
    (
        "ann.lee@acme-corp.example",
        40,
        "in",
        "Quarterly planning",
        "Can we review the Q3 roadmap next week? I would love your thoughts on the AI pilot.",
    ),
    (
        "ann.lee@acme-corp.example",
        12,
        "out",
        "Re: Quarterly planning",
        "Thanks Ann, the roadmap looks great. Let's schedule the AI pilot review by Friday.",
    ),
    (
        "bob.martin@northwind.example",
        75,
        "in",
        "Golf on Saturday?",
        "Are you free for golf this weekend? The new course opened and it is beautiful.",
    ),
    (
        "priya@initech.example",
        5,
        "in",
        "Contract renewal",
        "Please send the signed contract before the deadline on the 30th. Happy to hop on a call.",
    ),
    (
        "mei.chen@umbrella.example",
        20,
        "out",
        "Intro: data platform",
        "Great meeting you at the conference. Our data platform could help your analytics team.",
    ),
    (
        "tom@hooli.example",
        2,
        "in",
        "Hiking trip photos",
        "Loved the hiking trip! Sharing the photos. Are you joining the marathon training group?",
    ),
]

# New mail waiting in the Maildir for sync.email: (from, to, days ago, subject, body).
MAIL = [
    (
        "lukas.weber@contoso.example",
        None,
        3,
        "Partnership proposal",
        "Hi Dana, we would like to explore a partnership on machine learning tooling. Could we "
        "meet next Tuesday? Please confirm by Monday.",
    ),
    (
        None,
        "sofia.rossi@outlook.com",
        2,
        "Following up on the design review",
        "Hi Sofia, thanks for the detailed feedback on the design review. I will send the revised "
        "mockups tomorrow.",
    ),
    (
        "elena.petrova@wayne-enterprises.example",
        None,
        1,
        "Security audit results",
        "The security audit found two issues in the payment service. Can your team fix them before "
        "the release? The deadline is next Friday.",
    ),
    (
        "jon.smith@globex.example",
        None,
        1,
        "Cycling club",
        "We are starting a cycling club at Globex and thought of you. Interested in a ride Sunday?",
    ),
]

# Meetings in the calendar for sync.calendar, briefings, and the next-touch rule:
# (uid, hours from now, minutes long, title, attendee emails).
MEETINGS = [
    (
        "demo-roadmap@air.example",
        20,
        60,
        "AI pilot roadmap review",
        ["ann.lee@acme-corp.example", "priya@initech.example"],
    ),
    (
        "demo-partnership@air.example",
        44,
        30,
        "Contoso partnership call",
        ["lukas.weber@contoso.example"],
    ),
    (
        "demo-audit@air.example",
        68,
        45,
        "Security audit follow-up",
        ["elena.petrova@wayne-enterprises.example", "tom@hooli.example"],
    ),
]


@dataclass(frozen=True)
class Seeded:
    user_id: int
    created: bool
    integrations: dict[str, int]  # kind -> id: the sync tasks take these

    def summary(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "created": self.created, "integrations": self.integrations}


def seed(base: Path, now: datetime | None = None) -> Seeded:
    """Write the demo data set under `base` (e.g. `.air/demo`) and into the store."""
    now = now or store.utcnow()
    store.migrate()
    mail_dir, calendar_dir = base / "mail", base / "calendar"
    with store.transaction() as conn:
        existing = store.find_user(conn, email=USER[0])
        if existing is not None:
            return Seeded(existing, False, _integrations(conn, existing))
        user_id = store.ensure_user(conn, email=USER[0], name=USER[1])
        _write_maildir(mail_dir, now)
        _write_calendar(calendar_dir, now)
        by_email = _insert_contacts(conn, user_id)
        _insert_history(conn, by_email, now)
        store.add_integration(
            conn, user_id=user_id, kind="mail", provider="maildir", source=str(mail_dir.resolve())
        )
        store.add_integration(
            conn,
            user_id=user_id,
            kind="calendar",
            provider="ics",
            source=str(calendar_dir.resolve()),
        )
        for hours in (-48, -3, 2):  # two expired states for auth.oauth_cleanup, one live
            store.create_oauth_state(
                conn,
                ttl=timedelta(hours=1),
                user_id=user_id,
                provider="demo",
                now=now + timedelta(hours=hours),
            )
        return Seeded(user_id, True, _integrations(conn, user_id))


def _integrations(conn: sa.Connection, user_id: int) -> dict[str, int]:
    return {row.kind: row.id for row in store.list_integrations(conn, user_id=user_id)}


def _insert_contacts(conn: sa.Connection, user_id: int) -> dict[str, int]:
    """Plain inserts, not upserts: the duplicates must stay separate rows for dedup to find."""
    ids: dict[str, int] = {}
    for name, email, phone, company in CONTACTS:
        contact_id = int(
            conn.execute(
                sa.insert(contacts)
                .values(
                    user_id=user_id,
                    name=name,
                    email=email,
                    phone=phone,
                    company=company,
                    email_normalized=normalize_email(email),
                    phone_normalized=normalize_phone(phone),
                )
                .returning(contacts.c.id)
            ).scalar_one()
        )
        if email and normalize_email(email) not in ids:
            ids[str(normalize_email(email))] = contact_id
    return ids


def _insert_history(conn: sa.Connection, by_email: dict[str, int], now: datetime) -> None:
    for email, days, direction, subject, body in HISTORY:
        store.record_interaction(
            conn,
            contact_id=by_email[email],
            kind="email",
            occurred_at=now - timedelta(days=days),
            direction=direction,
            subject=subject,
            body=body,
        )


def _write_maildir(directory: Path, now: datetime) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(directory, create=True)
    for index, (sender, recipient, days, subject, body) in enumerate(MAIL):
        message = EmailMessage()
        message["From"] = sender or USER[0]
        message["To"] = recipient or USER[0]
        message["Subject"] = subject
        message["Date"] = format_datetime(now - timedelta(days=days, minutes=index))
        message["Message-ID"] = make_msgid(idstring=f"demo{index}", domain="air.example")
        message.set_content(body)
        box.add(message)


def _write_calendar(directory: Path, now: datetime) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for uid, hours, minutes, title, attendees in MEETINGS:
        start = (now + timedelta(hours=hours)).replace(second=0, microsecond=0)
        end = start + timedelta(minutes=minutes)
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//air//demo//EN",
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{title}",
            f"ORGANIZER:mailto:{USER[0]}",
            *[f"ATTENDEE;CN={a.split('@')[0]}:mailto:{a}" for a in attendees],
            "END:VEVENT",
            "END:VCALENDAR",
        ]
        (directory / f"{uid.split('@')[0]}.ics").write_text("\r\n".join(lines) + "\r\n")
