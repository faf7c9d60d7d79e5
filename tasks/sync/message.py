"""One raw email message parsed into what an interaction records (pure; no store, no files)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from tasks import store
from tasks.sync.htmltext import html_to_text

MAX_SOURCE_ID = 512  # interactions.source_id


@dataclass(frozen=True, slots=True)
class Address:
    name: str | None
    email: str  # normalised


@dataclass(frozen=True, slots=True)
class Mail:
    source_id: str  # the Message-ID, or a hash of the raw message when it has none
    sender: Address | None
    recipients: tuple[Address, ...]  # To then Cc, each address once
    subject: str | None
    body: str | None
    occurred_at: datetime  # aware UTC


def raw_digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def clean_text(text: Any) -> str | None:
    """Text safe for both databases (PostgreSQL refuses NUL), None when blank."""
    value = str(text).replace("\x00", "").strip() if text is not None else ""
    return value or None


def _addresses(msg: Message, *headers: str) -> tuple[Address, ...]:
    found: dict[str, Address] = {}
    for header in headers:
        for value in msg.get_all(header) or []:
            # policy.default parses address headers; a mangled one falls back to getaddresses
            parsed = getattr(value, "addresses", None)
            try:
                pairs = [(a.display_name, a.addr_spec) for a in parsed or ()]
            except (AttributeError, TypeError, ValueError, IndexError):
                pairs = []
            if not pairs:
                pairs = getaddresses([str(value)])
            for name, raw in pairs:
                email = store.normalize_email(raw)
                if email and email not in found:
                    found[email] = Address(name=clean_text(" ".join(name.split())), email=email)
    return tuple(found.values())


def occurred_at(msg: Message, fallback: datetime) -> datetime:
    """The Date header as aware UTC (a zone-less date counts as UTC); `fallback` if unusable."""
    raw = msg.get("Date")
    try:
        when = parsedate_to_datetime(str(raw)) if raw is not None else None
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        return fallback.astimezone(UTC)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _decoded(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, KeyError, AttributeError):
        pass  # an unknown charset or a broken transfer encoding: decode by hand below
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    try:
        return data.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def body_text(msg: EmailMessage, limit: int) -> str | None:
    """The text/plain body, else the text of the text/html one; attachments never count."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    text = _decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return clean_text(text[:limit])


def parse_mail(raw: bytes, *, fallback_time: datetime, max_body_chars: int) -> Mail:
    """Parse one message; `fallback_time` (the delivery time) stands in for a missing Date."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)  # policy.default builds EmailMessage objects
    message_id = clean_text(msg.get("Message-ID"))
    if not message_id or len(message_id) > MAX_SOURCE_ID:
        message_id = raw_digest(raw)
    senders = _addresses(msg, "From")
    subject = clean_text(" ".join(str(msg.get("Subject") or "").split()))
    return Mail(
        source_id=message_id,
        sender=senders[0] if senders else None,
        recipients=_addresses(msg, "To", "Cc"),
        subject=subject,
        body=body_text(msg, max_body_chars),
        occurred_at=occurred_at(msg, fallback_time),
    )
