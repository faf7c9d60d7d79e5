"""Delivery channels: webhook (HTTP POST of JSON), email (SMTP) and log, behind one `deliver`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from tasks.notify.errors import DeliveryError
from tasks.notify.settings import CHANNELS, NotifySettings
from tasks.notify.smtp import send_email

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One thing to say: a subject and body for people, `data` (JSON) for machines."""

    key: str  # stable across retries: the Idempotency-Key a webhook receiver can dedupe on
    subject: str
    body: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    level: str = "info"  # the log channel's level: info, warning, critical


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where a message goes on the channels that need an address."""

    webhook_url: str | None = None
    email_to: Sequence[str] = ()


def deliver(
    channel: str, message: Message, target: Target, settings: NotifySettings,
    client: httpx.Client,
) -> None:
    """Deliver `message` on `channel`; raises DeliveryError if it did not go out."""
    if channel == "log":
        getattr(log, message.level, log.info)(
            "notification", key=message.key, subject=message.subject, body=message.body,
            data=message.data,
        )
    elif channel == "webhook":
        post_webhook(client, target.webhook_url, message)
    elif channel == "email":
        send_email(settings, to=target.email_to, subject=message.subject, body=message.body,
                   key=message.key)
    else:
        raise DeliveryError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})",
                            transient=False)


def post_webhook(client: httpx.Client, url: str | None, message: Message) -> None:
    """POST the message's JSON; 2xx is delivered, 429/5xx/network may pass, other codes never."""
    if not url:
        raise DeliveryError("no webhook URL (AIR_NOTIFY_WEBHOOK_URL)", transient=False)
    headers = {"Idempotency-Key": message.key, "User-Agent": "air-notify"}
    try:
        response = client.post(url, json=message.data, headers=headers)
    except httpx.TransportError as exc:  # not a ConnectionError subclass: map it ourselves
        raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}", transient=True) from exc
    status = response.status_code
    if 200 <= status < 300:
        log.info("webhook_delivered", status=status, key=message.key)
        return
    transient = status == 429 or status >= 500
    raise DeliveryError(f"webhook: HTTP {status} {response.reason_phrase}", transient=transient)


def content_key(prefix: str, *parts: Any) -> str:
    """A de-duplication key from what a message says: the same words are the same message."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}:{digest[:40]}"
