"""sync.email: Maildir and mbox sources into interactions, incrementally and idempotently;
contacts found or created; a broken source breaks the integration; outages are retried."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.errors import PermanentError, TransientError
from tasks.sync.htmltext import html_to_text
from tasks.sync.mail import sync_mail
from tasks.sync.message import Address, parse_mail
from tasks.sync.settings import SyncSettings
from tasks.sync.source import SYNC_PREFIX, Superseded, advance
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database
from tests.tasks.syncfixtures import (
    OWNER,
    add_integration,
    add_to_maildir,
    add_to_mbox,
    integration,
    message,
    owner,
)

__all__ = ["owner"]  # fixture

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SETTINGS = SyncSettings(batch_size=2)
PLUS2 = timezone(timedelta(hours=2))


def first_batch() -> list[Any]:
    return [
        message("Ann Lee <ann@acme.example>", OWNER, "Roadmap", "Can we talk?\nThanks",
                datetime(2024, 5, 6, 11, 30, tzinfo=PLUS2), message_id="<m1@acme.example>"),
        message(f"Owner <{OWNER}>", "bob martin <Bob@Globex.example>", "Proposal",
                "Here it is.", T0 + timedelta(hours=1), message_id="<m2@example.com>",
                cc=f"Carol <carol@initech.example>, {OWNER}"),
        message("Dave <dave@hooli.example>", OWNER, "Newsletter", None, T0 + timedelta(hours=2),
                message_id="<m3@hooli.example>",
                html="<html><head><style>p {}</style></head><body><p>Hello&nbsp;<b>you</b>"
                     "</p><p>Bye</p></body></html>"),
    ]


def interactions() -> list[Any]:
    with store.transaction(readonly=True) as conn:
        return store.list_interactions(conn)


def emails_of(rows: list[Any]) -> list[str | None]:
    with store.transaction(readonly=True) as conn:
        return [store.get_contact(conn, row.contact_id).email_normalized  # type: ignore[union-attr]
                for row in rows]


@pytest.fixture
def known_ann(owner: int) -> int:
    with store.transaction() as conn:
        return store.upsert_contact(conn, user_id=owner, email="ANN@acme.example", name="Ann")


def test_html_to_text() -> None:
    assert html_to_text("<div>Hi&nbsp;<b>Ann</b><br>line 2<script>x()</script></div>") == (
        "Hi Ann\nline 2")


def test_odd_messages_parse() -> None:
    raw = (b"From: =?utf-8?q?Jos=C3=A9?= <JOSE@Example.com>\r\nTo: undisclosed-recipients:;\r\n"
           b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n  time\r\nDate: not a date\r\n"
           b"Content-Type: text/plain; charset=x-unknown\r\n\r\nBody\x00 text\r\n")
    mail = parse_mail(raw, fallback_time=T0, max_body_chars=100)
    assert mail.sender == Address("José", "jose@example.com")
    assert (mail.recipients, mail.subject, mail.body) == ((), "Café time", "Body text")
    assert mail.occurred_at == T0 and mail.source_id.startswith("sha256:")
    assert parse_mail(raw, fallback_time=T0, max_body_chars=100).source_id == mail.source_id


def test_notes_to_self_and_sender_less_messages_are_skipped(owner: int, tmp_path: Path) -> None:
    root = tmp_path / "Mail"
    add_to_maildir(root, message(OWNER, OWNER, "Note", "todo", T0, message_id="<n@x>"),
                   message("", OWNER, "Nobody", "?", T0, message_id="<q@x>"))
    integration_id = add_integration(owner, "mail", "maildir", str(root))
    summary = sync_mail(integration_id, SETTINGS)
    assert (summary["messages"], summary["skipped"], summary["imported"]) == (2, 2, 0)


def test_a_maildir_is_imported_then_nothing_changes(
    owner: int, known_ann: int, tmp_path: Path
) -> None:
    root = tmp_path / "Mail"
    add_to_maildir(root, *first_batch())
    integration_id = add_integration(owner, "mail", "maildir", str(root))
    seen: list[tuple[int, int]] = []
    summary = sync_mail(integration_id, SETTINGS, progress=lambda d, t: seen.append((d, t)))
    assert summary == {"integration_id": integration_id, "format": "maildir",
                       "superseded": False, "messages": 3, "imported": 4, "duplicates": 0,
                       "skipped": 0, "contacts_created": 3}
    assert seen == [(2, 3), (3, 3)]
    rows = interactions()
    by_source = {row.source_id: row for row in rows}
    ann = by_source["<m1@acme.example>"]
    assert (ann.contact_id, ann.direction, ann.subject) == (known_ann, "in", "Roadmap")
    assert ann.occurred_at == datetime(2024, 5, 6, 9, 30, tzinfo=UTC)  # +02:00 to UTC
    assert ann.body == "Can we talk?\nThanks"
    assert by_source["<m2@example.com>"].direction == "out"
    carol = by_source["<m2@example.com>#carol@initech.example"]
    assert (carol.direction, carol.body) == ("out", "Here it is.")
    assert by_source["<m3@hooli.example>"].body == "Hello you\n\nBye"  # HTML only
    assert sorted(emails_of(rows)) == ["ann@acme.example", "bob@globex.example",
                                       "carol@initech.example", "dave@hooli.example"]
    with store.transaction(readonly=True) as conn:
        bob = store.find_contact(conn, user_id=owner, email="bob@globex.example")
        assert store.get_contact(conn, bob or 0).name == "bob martin"  # type: ignore[union-attr]
    cursor = json.loads(integration(integration_id).sync_cursor)
    assert (cursor["format"], len(cursor["recent"])) == ("maildir", 3)
    before = database_rows()
    again = sync_mail(integration_id, SETTINGS)
    assert (again["messages"], again["imported"]) == (0, 0)
    assert database_rows() == before


def test_only_new_maildir_messages_are_read(owner: int, tmp_path: Path) -> None:
    root = tmp_path / "Mail"
    keys = add_to_maildir(root, *first_batch(), mtime=T0.timestamp())
    integration_id = add_integration(owner, "mail", "maildir", f"file://{root}")
    sync_mail(integration_id, SETTINGS)
    # a mail client reads one: new/ -> cur/ with flags, same key, same mtime
    os.rename(root / "new" / keys[0], root / "cur" / f"{keys[0]}:2,S")
    late = message("Eve <eve@umbrella.example>", OWNER, "Late", "Slow delivery", T0,
                   message_id="<late@umbrella.example>")
    fresh = message("Ann <ann@acme.example>", OWNER, "Again", "Hi again", T0 + timedelta(days=1),
                    message_id="<m4@acme.example>")
    add_to_maildir(root, late, mtime=T0.timestamp() - 600)  # renamed in after younger mail
    add_to_maildir(root, fresh, mtime=T0.timestamp() + 60)
    add_to_maildir(root, message("Old <old@x.example>", OWNER, "Old", "x", T0),
                   mtime=T0.timestamp() - 3 * 86400)  # older than the slack window: not seen
    summary = sync_mail(integration_id, SETTINGS)
    assert (summary["messages"], summary["imported"], summary["contacts_created"]) == (2, 2, 1)
    assert {row.source_id for row in interactions()} >= {"<late@umbrella.example>",
                                                         "<m4@acme.example>"}


def test_an_mbox_is_read_from_the_cursor_and_reread_when_rewritten(
    owner: int, tmp_path: Path
) -> None:
    path = tmp_path / "inbox.mbox"
    batch = first_batch()
    no_id = message("Zed <zed@acme.example>", OWNER, "No id", "From the start\nFrom here", None)
    add_to_mbox(path, batch[0], no_id)
    integration_id = add_integration(owner, "mail", "mbox", str(path))
    summary = sync_mail(integration_id, SETTINGS)
    assert (summary["format"], summary["messages"], summary["imported"]) == ("mbox", 2, 2)
    hashed = [row for row in interactions() if row.source_id.startswith("sha256:")]
    assert len(hashed) == 1 and hashed[0].body == "From the start\nFrom here"  # unescaped
    assert hashed[0].occurred_at.tzinfo == UTC  # no Date: the From_ line's delivery time
    add_to_mbox(path, *batch[1:])
    summary = sync_mail(integration_id, SETTINGS)
    assert (summary["messages"], summary["imported"], summary["duplicates"]) == (2, 3, 0)
    before = database_rows()
    assert sync_mail(integration_id, SETTINGS)["messages"] == 0
    assert database_rows() == before
    # compaction drops the first message: the file shrank, so it is read again from the start
    box_text = path.read_bytes()
    path.write_bytes(box_text[box_text.index(b"\nFrom ", 10) + 1:])
    summary = sync_mail(integration_id, SETTINGS)
    assert (summary["messages"], summary["imported"], summary["duplicates"]) == (3, 0, 4)
    assert len(interactions()) == 5


def test_a_locked_mbox_is_retried(owner: int, tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    add_to_mbox(path, first_batch()[0])
    integration_id = add_integration(owner, "mail", "mbox", str(path))
    (tmp_path / "inbox.mbox.lock").write_text("")
    with pytest.raises(TransientError, match="locked"):
        sync_mail(integration_id, SETTINGS)
    assert integration(integration_id).status == "ok"


def test_a_missing_source_breaks_the_integration_until_it_is_back(
    owner: int, tmp_path: Path
) -> None:
    root = tmp_path / "Mail"
    integration_id = add_integration(owner, "mail", "maildir", str(root))
    with pytest.raises(PermanentError, match="does not exist"):
        sync_mail(integration_id, SETTINGS)
    row = integration(integration_id)
    assert (row.status, row.last_error) == ("broken", f"{SYNC_PREFIX}source {root} does not exist")
    add_to_maildir(root, first_batch()[0])
    assert sync_mail(integration_id, SETTINGS)["imported"] == 1
    assert (integration(integration_id).status, integration(integration_id).last_error) == (
        "ok", None)


@pytest.mark.parametrize("source", ["dir", "imap://mail.example/INBOX"])
def test_sources_that_are_not_mailboxes(owner: int, tmp_path: Path, source: str) -> None:
    integration_id = add_integration(owner, "mail", "maildir",
                                     str(tmp_path) if source == "dir" else source)
    with pytest.raises(PermanentError):
        sync_mail(integration_id, SETTINGS)
    assert integration(integration_id).status == "broken"


def test_a_calendar_integration_is_refused(owner: int, tmp_path: Path) -> None:
    integration_id = add_integration(owner, "calendar", "ics", str(tmp_path))
    with pytest.raises(PermanentError, match="not mail"):
        sync_mail(integration_id, SETTINGS)
    assert integration(integration_id).status == "ok"


def test_a_moved_cursor_stops_the_batch(owner: int) -> None:
    integration_id = add_integration(owner, "mail", "mbox", "/nowhere")
    with store.transaction() as conn:
        store.set_cursor(conn, integration_id, "theirs")
    with pytest.raises(Superseded), store.transaction() as conn:
        advance(conn, integration_id, None, "ours")
    assert integration(integration_id).sync_cursor == "theirs"


def test_the_task_imports_through_the_policy(air_app: Any, owner: int, tmp_path: Path) -> None:
    root = tmp_path / "Mail"
    add_to_maildir(root, *first_batch())
    integration_id = add_integration(owner, "mail", "maildir", str(root))
    result = air_app.tasks["sync.email"].apply(kwargs={"integration_id": integration_id})
    assert result.successful(), result.traceback
    assert result.result["imported"] == 4


def test_a_vanished_source_fails_permanently_without_retry(
    air_app: Any, owner: int, tmp_path: Path, redis_url: str
) -> None:
    root = tmp_path / "Mail"
    add_to_maildir(root, *first_batch())
    integration_id = add_integration(owner, "mail", "maildir", str(root))
    assert air_app.tasks["sync.email"].apply(kwargs={"integration_id": integration_id}
                                             ).successful()
    shutil.rmtree(root)
    result = air_app.tasks["sync.email"].apply(kwargs={"integration_id": integration_id})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)
    assert integration(integration_id).status == "broken"


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch, db: sa.Engine
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["sync.email"].apply(kwargs={"integration_id": 1})
    assert result.failed()
    letter = dead_letter(redis_url, result.id)
    assert (letter.task, letter.exception, letter.retries) == ("sync.email", "TransientError", 5)
