"""Fixtures for the sync tests: real Maildirs and mbox files (stdlib mailbox), real .ics files."""

from __future__ import annotations

import mailbox
import os
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store

OWNER = "owner@example.com"


def message(
    sender: str, to: str, subject: str, body: str | None, date: datetime | None, *,
    message_id: str | None = None, cc: str | None = None, html: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    if cc:
        msg["Cc"] = cc
    if date is not None:
        msg["Date"] = format_datetime(date)
    if message_id:
        msg["Message-ID"] = message_id
    if body is not None:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg


def add_to_maildir(root: Path, *messages: EmailMessage, mtime: float | None = None) -> list[str]:
    """Deliver into new/ like an MTA; `mtime` sets the files' modification time."""
    box = mailbox.Maildir(root, create=True)
    keys = [box.add(msg) for msg in messages]
    if mtime is not None:
        for key in keys:
            os.utime(root / "new" / key, (mtime, mtime))
    return keys


def add_to_mbox(path: Path, *messages: EmailMessage) -> None:
    box = mailbox.mbox(path, create=True)
    box.lock()
    try:
        for msg in messages:
            box.add(msg)
        box.flush()
    finally:
        box.unlock()
        box.close()


def vevent(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20240101T000000Z", *lines,
                        "END:VEVENT"])


def write_ics(path: Path, *events: str, mtime: float | None = None, extra: str = "") -> Path:
    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//air//tests//EN",
                        *([extra] if extra else []), *events, "END:VCALENDAR"]) + "\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def owner(db: sa.Engine) -> int:
    with store.transaction() as conn:
        return store.ensure_user(conn, email=OWNER, name="Owner")


def add_integration(user_id: int, kind: str, provider: str, source: str) -> int:
    with store.transaction() as conn:
        return store.add_integration(conn, user_id=user_id, kind=kind, provider=provider,
                                     source=source)


def integration(integration_id: int) -> Any:
    with store.transaction(readonly=True) as conn:
        return store.get_integration(conn, integration_id)
