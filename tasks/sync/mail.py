"""sync.email: pull new mail from an integration's Maildir or mbox into interactions.

The source (integrations.source, a path or file:// URL) is a Maildir when it is a directory
with cur/ and new/, an mbox when it is a file; the provider field is not consulted. Each new
message becomes an interaction of kind 'email' with the person on the other side: a message
from the user's own address (users.email) goes 'out' to each To and Cc recipient (at most
AIR_SYNC_MAX_RECIPIENTS), any other comes 'in' from its sender. That person's contact is found
by email or created (named from the header). The first recipient's interaction has the
Message-ID as source_id, further ones '<Message-ID>#<address>'; a message without a Message-ID
is known by a hash of its bytes. A message with nobody else in it (a note to self) is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.errors import require_integer
from tasks.sync.maildir import MaildirReader, is_maildir
from tasks.sync.mbox import MboxReader
from tasks.sync.message import MAX_SOURCE_ID, Address, Mail, parse_mail
from tasks.sync.settings import SyncSettings
from tasks.sync.source import CursorRun, SourceError, Target, run_sync

log = structlog.get_logger(__name__)

Reader = MaildirReader | MboxReader
COUNTS = ("messages", "imported", "duplicates", "skipped", "contacts_created")


def open_reader(
    path: Path, stored_cursor: Callable[[str], dict[str, Any] | None], settings: SyncSettings
) -> Reader:
    """The reader for the source at `path`; SourceError when there is nothing to read."""
    if is_maildir(path):
        return MaildirReader(path, stored_cursor("maildir"), slack=settings.maildir_slack)
    if path.is_dir():
        raise SourceError(f"source {path} is a directory but not a Maildir (no cur/ and new/)")
    if path.is_file():
        return MboxReader(path, stored_cursor("mbox"))
    if not path.exists():
        raise SourceError(f"source {path} does not exist")
    raise SourceError(f"source {path} is neither a Maildir nor an mbox file")


def counterparts(mail: Mail, own: str | None, limit: int) -> tuple[str, list[Address]]:
    """('out', the recipients) for the user's own message, else ('in', [the sender])."""
    if mail.sender is not None and mail.sender.email == own:
        return "out", [r for r in mail.recipients if r.email != own][:limit]
    if mail.sender is None:
        return "in", []
    return "in", [mail.sender]


def source_id(mail: Mail, index: int, person: Address) -> str:
    if index == 0:
        return mail.source_id
    key = f"{mail.source_id}#{person.email}"
    if len(key) > MAX_SOURCE_ID:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def record_mail(
    conn: sa.Connection, target: Target, mail: Mail, counts: dict[str, int], limit: int
) -> None:
    """Record the message's interactions (those not recorded before) in this transaction."""
    direction, people = counterparts(mail, target.user_email, limit)
    if not people:
        counts["skipped"] += 1
        return
    integration_id = target.integration.id
    for index, person in enumerate(people):
        key = source_id(mail, index, person)
        if store.has_interaction(conn, integration_id=integration_id, source_id=key):
            counts["duplicates"] += 1
            continue
        if store.find_contact(conn, user_id=target.user_id, email=person.email) is None:
            counts["contacts_created"] += 1
        contact_id = store.upsert_contact(conn, user_id=target.user_id, email=person.email,
                                          name=person.name)
        store.record_interaction(
            conn, contact_id=contact_id, kind="email", occurred_at=mail.occurred_at,
            integration_id=integration_id, source_id=key, subject=mail.subject,
            body=mail.body, direction=direction)
        counts["imported"] += 1


def _parse(reader: Reader, item: Any, settings: SyncSettings) -> Mail | None:
    loaded = reader.load(item)
    if loaded is None:  # deleted since the scan
        return None
    raw, delivered = loaded
    try:
        return parse_mail(raw, fallback_time=delivered, max_body_chars=settings.max_body_chars)
    except (ValueError, TypeError, LookupError, AttributeError, IndexError) as exc:
        log.warning("mail_unparseable", item=repr(item), error=repr(exc))
        return None


class MailRun(CursorRun):
    """One sync: the reader of the source and the messages it has pending."""

    def __init__(self, target: Target, settings: SyncSettings) -> None:
        super().__init__(target)
        self.settings = settings
        self.reader = open_reader(self.path, self.stored_cursor, settings)
        self.todo: list[Any] = list(self.reader.pending())
        self.started: dict[str, Any] = {"format": self.reader.format, "pending": len(self.todo),
                                        "reset": getattr(self.reader, "reset", False)}
        self.summary: dict[str, Any] = {"format": self.reader.format}

    def batch(self, items: Sequence[Any]) -> dict[str, int]:
        """Parse, then record in one transaction, a batch of messages with the cursor."""
        mails = [_parse(self.reader, item, self.settings) for item in items]
        done = dict.fromkeys(COUNTS, 0)
        with self.commit(self.reader.advance(list(items))) as conn:
            for mail in mails:
                if mail is None:
                    done["skipped"] += 1
                else:
                    record_mail(conn, self.target, mail, done, self.settings.max_recipients)
        done["messages"] = len(items)
        return done

    def finish(self) -> dict[str, int]:
        """Commit the reader's final cursor and lift a break this sync set."""
        with self.commit(self.reader.cursor(), last=True):
            pass  # nothing to write but the cursor (and the break it lifts)
        return dict.fromkeys(COUNTS, 0)


def sync_mail(
    integration_id: int, settings: SyncSettings,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Import the integration's new messages batch by batch, each with its cursor."""
    return run_sync(integration_id, "mail", COUNTS, lambda target: MailRun(target, settings),
                    settings.batch_size, progress)


@shared_task(name="sync.email", bind=True)
def email(self: Any, integration_id: int) -> dict[str, Any]:
    """Pull the integration's new mail into interactions. Returns {integration_id, format,
    superseded, messages, imported, duplicates, skipped, contacts_created}."""
    require_integer("integration_id", integration_id)
    return sync_mail(integration_id, SyncSettings.from_env(), progress=self.progress)
