"""notify.critical_alert through a real webhook receiver and SMTP sink, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetterStore
from tasks import store
from tasks.errors import PermanentError
from tasks.notify.alerts import deliver_alert, open_alert
from tasks.notify.settings import NotifySettings
from tests.tasks.loopback import MailSink, WebhookReceiver
from tests.tasks.notify_fixtures import emails, mail, notify_env, snapshot, webhook

__all__ = ["mail", "notify_env", "webhook"]  # fixtures

ALERT = {"title": "Integration 3 is failing", "body": "token endpoint answers 503"}


def deliveries(alert_id: int) -> dict[str, tuple[str, int]]:
    with store.transaction(readonly=True) as conn:
        rows = conn.execute(sa.text(
            "SELECT channel, status, attempts FROM alert_deliveries WHERE alert_id = :a"
        ), {"a": alert_id})
        return {channel: (status, attempts) for channel, status, attempts in rows}


def test_an_alert_goes_out_on_every_channel_once(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    mail: MailSink,
) -> None:
    task = air_app.tasks["notify.critical_alert"]
    summary = task.apply(kwargs=ALERT).get()
    assert summary["status"] == {"email": "delivered", "log": "delivered",
                                 "webhook": "delivered"}
    assert summary["duplicate"] is False
    [posted] = webhook.requests
    assert posted["path"] == "/alerts"
    assert posted["json"] | {"id": 0, "created_at": ""} == {
        "type": "alert", "id": 0, "severity": "critical", "title": ALERT["title"],
        "body": ALERT["body"], "dedup_key": posted["json"]["dedup_key"], "created_at": ""}
    assert posted["headers"]["Idempotency-Key"].startswith(f"alert-{summary['alert_id']}-")
    [message] = emails(mail)
    assert message["Subject"] == "[CRITICAL] Integration 3 is failing"
    assert message["To"] == "ops@example.com, oncall@example.com"
    assert mail.messages[0].rcpt_tos == ["ops@example.com", "oncall@example.com"]
    assert "token endpoint answers 503" in message.get_payload()

    state = snapshot()
    again = task.apply(kwargs=ALERT).get()  # a repeat inside the window: dropped
    assert again["duplicate"] is True and again["sent"] == []
    assert snapshot() == state
    assert len(webhook.requests) == 1 and len(mail.messages) == 1


def test_a_retry_redelivers_only_the_channel_that_failed(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    mail: MailSink,
) -> None:
    webhook.script.extend([503, 429])
    summary = air_app.tasks["notify.critical_alert"].apply(kwargs=ALERT).get()
    assert [r["status"] for r in webhook.requests] == [503, 429, 200]
    assert len(mail.messages) == 1  # delivered on the first attempt, never again
    assert deliveries(summary["alert_id"]) == {
        "email": ("delivered", 1), "log": ("delivered", 1), "webhook": ("delivered", 3)}


def test_transient_failures_retry_per_policy_then_dead_letter(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    mail: MailSink, redis_url: str,
) -> None:
    webhook.status = 503
    result = air_app.tasks["notify.critical_alert"].apply(kwargs=ALERT)
    assert result.failed()
    assert len(webhook.requests) == 1 + 5  # notify.critical_alert: retry max 5
    assert len(mail.messages) == 1
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None and letter.exception == "TransientError"
    with store.transaction(readonly=True) as conn:
        alert_id = conn.execute(sa.text("SELECT id FROM alerts")).scalar_one()
    assert deliveries(alert_id)["webhook"] == ("failed", 6)  # given up, with every attempt


def test_a_permanent_failure_is_recorded_and_not_retried(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    mail: MailSink, redis_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook.status = 404
    mail.script.append("550 5.1.1 mailbox unavailable")
    monkeypatch.setenv("AIR_NOTIFY_CHANNELS", "log,webhook,email,pager")
    result = air_app.tasks["notify.critical_alert"].apply(kwargs=ALERT)
    assert result.successful()
    assert result.result["status"] == {"email": "failed", "log": "delivered", "pager": "failed",
                                       "webhook": "failed"}
    assert (len(webhook.requests), mail.attempts) == (1, 1)
    assert DeadLetterStore.from_url(redis_url).count() == 0
    with store.transaction(readonly=True) as conn:
        row = conn.execute(sa.text(
            "SELECT last_error FROM alert_deliveries WHERE channel = 'pager'")).scalar_one()
    assert "unknown channel 'pager'" in row


def test_an_smtp_4xx_is_retried(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    mail: MailSink,
) -> None:
    mail.script.append("451 4.3.0 try again later")
    summary = air_app.tasks["notify.critical_alert"].apply(
        kwargs={**ALERT, "channels": ["email"]}).get()
    assert summary["status"] == {"email": "delivered"}
    assert (mail.attempts, len(mail.messages), len(webhook.requests)) == (2, 1, 0)


def test_repeats_are_dropped_within_the_window_and_rearmed_after(
    db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
) -> None:
    settings = NotifySettings.from_env()
    now = store.utcnow()
    args = {"severity": "warning", "title": "disk", "body": "90%", "channels": ["webhook"],
            "dedup_key": "disk:/", "window": timedelta(minutes=30)}
    with httpx.Client(timeout=5) as client:
        first, new = open_alert(**args, now=now)  # type: ignore[arg-type]
        assert new
        deliver_alert(first, settings, client)
        for minutes, rearmed in ((29, False), (31, True)):
            alert_id, new = open_alert(**args, now=now + timedelta(minutes=minutes))  # type: ignore[arg-type]
            assert (alert_id, new) == (first, rearmed)
            deliver_alert(alert_id, settings, client)
    assert len(webhook.delivered) == 2  # the first, and the one after the window
    keys = {r["headers"]["Idempotency-Key"] for r in webhook.requests}
    assert len(keys) == 2  # a re-armed alert is a new occurrence for the receiver


def test_a_different_alert_is_not_a_duplicate(
    air_app: Any, db: sa.Engine, notify_env: dict[str, str], webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIR_NOTIFY_CHANNELS", "webhook")
    task = air_app.tasks["notify.critical_alert"]
    first = task.apply(kwargs=ALERT).get()
    other = task.apply(kwargs={**ALERT, "body": "token endpoint answers 500"}).get()
    keyed = task.apply(kwargs={**ALERT, "dedup_key": "integration:3"}).get()
    assert len({first["alert_id"], other["alert_id"], keyed["alert_id"]}) == 3
    assert len(webhook.delivered) == 3


def test_a_bad_severity_fails_without_retry(air_app: Any, db: sa.Engine) -> None:
    result = air_app.tasks["notify.critical_alert"].apply(kwargs={**ALERT, "severity": "panic"})
    assert result.failed() and isinstance(result.result, PermanentError)
