"""notify.user_notification through a real SMTP sink and webhook receiver, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetterStore
from tasks import store
from tasks.errors import PermanentError
from tasks.notify.users import queue
from tasks.store.db.tables import notifications
from tests.tasks.loopback import MailSink, WebhookReceiver
from tests.tasks.notify_fixtures import emails, mail, notify_env, snapshot, webhook

__all__ = ["mail", "notify_env", "webhook"]  # fixtures

NOTE = {"subject": "Meeting with Ann in 15 minutes", "body": "Agenda: renewal"}


@pytest.fixture
def user_id(db: sa.Engine) -> int:
    with store.transaction() as conn:
        return store.ensure_user(conn, email="Owner@Example.com", name="Owner")


def notification(notification_id: int) -> Any:
    with store.transaction(readonly=True) as conn:
        return store.get_notification(conn, notification_id)


def test_email_to_the_users_address_once(
    air_app: Any, user_id: int, notify_env: dict[str, str], mail: MailSink
) -> None:
    task = air_app.tasks["notify.user_notification"]
    summary = task.apply(kwargs={"user_id": user_id, **NOTE}).get()
    assert summary | {"notification_id": 0} == {
        "notification_id": 0, "channel": "email", "status": "delivered", "duplicate": False}
    [envelope] = mail.messages
    assert envelope.rcpt_tos == ["owner@example.com"]
    assert emails(mail)[0]["Subject"] == NOTE["subject"]
    row = notification(summary["notification_id"])
    assert (row.status, row.attempts, row.payload["body"]) == ("delivered", 1, "Agenda: renewal")
    state = snapshot()
    again = task.apply(kwargs={"user_id": user_id, **NOTE}).get()
    assert (again["duplicate"], again["status"]) == (True, "delivered")
    assert snapshot() == state and len(mail.messages) == 1


def test_webhook_retry_delivers_exactly_once(
    air_app: Any, user_id: int, notify_env: dict[str, str], webhook: WebhookReceiver
) -> None:
    webhook.script.extend([500])
    kwargs = {"user_id": user_id, **NOTE, "channel": "webhook", "data": {"meeting_id": 7},
              "dedup_key": "meeting:7:reminder"}
    summary = air_app.tasks["notify.user_notification"].apply(kwargs=kwargs).get()
    assert summary["status"] == "delivered"
    assert [r["status"] for r in webhook.requests] == [500, 200]
    assert all(r["path"] == "/users" for r in webhook.requests)
    posted = webhook.delivered[0]
    assert (posted["user_id"], posted["subject"], posted["data"]) == (
        user_id, NOTE["subject"], {"meeting_id": 7})
    assert notification(summary["notification_id"]).attempts == 2


def test_transient_failures_retry_per_policy_then_dead_letter(
    air_app: Any, user_id: int, notify_env: dict[str, str], mail: MailSink, redis_url: str
) -> None:
    mail.script.extend(["421 4.7.0 try again later"] * 10)
    result = air_app.tasks["notify.user_notification"].apply(kwargs={"user_id": user_id, **NOTE})
    assert result.failed()
    assert mail.attempts == 1 + 3  # notify.user_notification: retry max 3
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None and letter.exception == "TransientError"
    with store.transaction(readonly=True) as conn:
        row = conn.execute(sa.select(notifications)).one()
    assert (row.status, row.attempts) == ("failed", 4)
    assert "421" in row.last_error


def test_a_permanent_failure_is_recorded_without_retry(
    air_app: Any, user_id: int, notify_env: dict[str, str], mail: MailSink, redis_url: str
) -> None:
    mail.script.append("550 5.1.1 no such mailbox")
    summary = air_app.tasks["notify.user_notification"].apply(
        kwargs={"user_id": user_id, **NOTE}).get()
    assert summary["status"] == "failed" and mail.attempts == 1
    assert notification(summary["notification_id"]).last_error.startswith("smtp: ")
    assert DeadLetterStore.from_url(redis_url).count() == 0


def test_dedup_is_per_key_and_window(
    air_app: Any, user_id: int, notify_env: dict[str, str], mail: MailSink
) -> None:
    task = air_app.tasks["notify.user_notification"]
    base = {"user_id": user_id, **NOTE, "channel": "log", "dedup_key": "daily"}
    first = task.apply(kwargs=base).get()
    assert task.apply(kwargs={**base, "body": "changed"}).get()["duplicate"] is True
    other = task.apply(kwargs={**base, "dedup_key": "weekly"}).get()
    assert other["notification_id"] != first["notification_id"]
    rearmed = task.apply(kwargs={**base, "body": "new day", "window": 0}).get()
    assert (rearmed["notification_id"], rearmed["duplicate"]) == (first["notification_id"], False)
    assert notification(first["notification_id"]).payload["body"] == "new day"


def test_bad_requests_fail_without_retry(air_app: Any, user_id: int, redis_url: str) -> None:
    task = air_app.tasks["notify.user_notification"]
    for kwargs in ({"user_id": 999_999, **NOTE}, {"user_id": user_id, **NOTE, "channel": "sms"}):
        result = task.apply(kwargs=kwargs)
        assert result.failed() and isinstance(result.result, PermanentError)
        assert DeadLetterStore.from_url(redis_url).get(result.id).retries == 0


def test_a_retry_finds_its_notification_and_never_rearms_it(user_id: int) -> None:
    args = {"user_id": user_id, "channel": "log", "payload": {"subject": "s"},
            "dedup_key": "k", "window": timedelta(minutes=1)}
    now = store.utcnow()
    row, user, new = queue(**args, now=now)  # type: ignore[arg-type]
    assert new and user.email == "owner@example.com"
    with store.transaction() as conn:
        store.mark_notification_delivered(conn, row.id)
    later = now + timedelta(hours=1)  # past the window: a first attempt would re-arm
    again, _, new = queue(**args, rearm=False, now=later)  # type: ignore[arg-type]
    assert (again.id, again.status, new) == (row.id, "delivered", False)
