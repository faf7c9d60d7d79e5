"""Fixtures for the notify tests: a webhook receiver, an SMTP sink, the env pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.store.db.tables import alert_deliveries, alerts, notifications
from tests.tasks.loopback import MailSink, WebhookReceiver, served, smtp_server


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    yield from served(WebhookReceiver())


@pytest.fixture
def mail() -> Iterator[MailSink]:
    sink = MailSink()
    controller = smtp_server(sink)
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def notify_env(
    webhook: WebhookReceiver, mail: MailSink, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {
        "AIR_NOTIFY_CHANNELS": "log,webhook,email",
        "AIR_NOTIFY_WEBHOOK_URL": webhook.url + "/alerts",
        "AIR_NOTIFY_USER_WEBHOOK_URL": webhook.url + "/users",
        "AIR_NOTIFY_SMTP_HOST": "127.0.0.1",
        "AIR_NOTIFY_SMTP_PORT": str(mail.port),
        "AIR_NOTIFY_SMTP_SECURITY": "none",
        "AIR_NOTIFY_EMAIL_FROM": "air@example.com",
        "AIR_NOTIFY_ALERT_EMAIL_TO": "ops@example.com, oncall@example.com",
        "AIR_NOTIFY_WEBHOOK_TIMEOUT": "5",
        "AIR_NOTIFY_SMTP_TIMEOUT": "5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def emails(sink: MailSink) -> list[Message]:
    return [message_from_bytes(envelope.content) for envelope in sink.messages]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every alert, delivery and notification row, to compare before and after a re-run."""
    with store.transaction(readonly=True) as conn:
        return {
            table.name: [dict(r) for r in conn.execute(
                sa.select(table).order_by(*table.primary_key.columns)).mappings()]
            for table in (alerts, alert_deliveries, notifications)
        }
