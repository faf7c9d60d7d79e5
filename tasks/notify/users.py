"""notify.user_notification: deliver one notification to one user, once per dedup window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from celery import shared_task

from tasks import store
from tasks.errors import PermanentError, TransientError
from tasks.notify.channels import Message, Target, content_key, deliver
from tasks.notify.errors import DeliveryError, last_attempt
from tasks.notify.settings import CHANNELS, NotifySettings

log = structlog.get_logger(__name__)


def queue(
    *, user_id: int, channel: str, payload: dict[str, Any], dedup_key: str, window: timedelta,
    rearm: bool = True, now: datetime | None = None,
) -> tuple[Any, Any, bool]:
    """(notification row, user row, whether this call queued it). A repeat inside the window and
    a retry (which never re-arms) get the existing row, to deliver only if still pending."""
    with store.transaction() as conn:
        user = store.get_user(conn, user_id)
        if user is None:
            raise PermanentError(f"no user {user_id}")
        new_id = None
        if rearm:
            new_id = store.queue_notification(conn, user_id=user_id, channel=channel,
                                              payload=payload, dedup_key=dedup_key,
                                              window=window, now=now)
        if new_id is None:
            row = store.find_notification(conn, user_id=user_id, channel=channel,
                                          dedup_key=dedup_key)
            if row is not None:
                return row, user, False
            new_id = store.queue_notification(conn, user_id=user_id, channel=channel,
                                              payload=payload, dedup_key=dedup_key, now=now)
        return store.get_notification(conn, new_id or 0), user, True


def notification_message(row: Any) -> Message:
    payload = row.payload
    return Message(
        key=f"notification-{row.id}-{int(row.created_at.timestamp())}",
        subject=str(payload.get("subject", "")),
        body=str(payload.get("body", "")),
        data={"type": "notification", "id": row.id, "user_id": row.user_id, **payload,
              "created_at": row.created_at.isoformat()},
    )


def deliver_notification(
    row: Any, user: Any, settings: NotifySettings, client: httpx.Client, *, final: bool = True
) -> tuple[str, bool]:
    """Deliver a pending notification and record the outcome. Returns its status afterwards and
    whether this attempt failed transiently; such a failure stays pending (for the retry)
    unless `final`."""
    if row.status != "pending":
        return str(row.status), False
    target = Target(webhook_url=settings.user_webhook_url, email_to=(user.email,))
    try:
        deliver(row.channel, notification_message(row), target, settings, client)
    except DeliveryError as exc:
        log.warning("notification_failed", notification_id=row.id, channel=row.channel,
                    error=str(exc), transient=exc.transient)
        give_up = final or not exc.transient
        with store.transaction() as conn:
            store.mark_notification_failed(conn, row.id, error=str(exc)[:2000], final=give_up)
        return ("failed" if give_up else "pending"), exc.transient
    with store.transaction() as conn:
        store.mark_notification_delivered(conn, row.id)
    log.info("notification_delivered", notification_id=row.id, channel=row.channel)
    return "delivered", False


@shared_task(name="notify.user_notification", bind=True)
def user_notification(
    self: Any, user_id: int, subject: str, body: str = "", channel: str = "email",
    data: dict[str, Any] | None = None, dedup_key: str | None = None,
    window: float | None = None,
) -> dict[str, Any]:
    """Deliver a notification to `user_id` on `channel` (email to the user's address, webhook to
    AIR_NOTIFY_USER_WEBHOOK_URL, or log). Repeats of `dedup_key` (default: a hash of the content)
    within `window` seconds (default AIR_NOTIFY_DEDUP_WINDOW) are dropped."""
    if channel not in CHANNELS:
        raise PermanentError(f"channel {channel!r} is not one of {CHANNELS}")
    settings = NotifySettings.from_env()
    payload = {"subject": subject, "body": body, "data": data or {}}
    retrying = bool(self.request.retries)
    row, user, new = queue(
        user_id=user_id, channel=channel, payload=payload,
        dedup_key=dedup_key or content_key("notification", subject, body, data or {}),
        window=settings.dedup_window if window is None else timedelta(seconds=float(window)),
        rearm=not retrying,
    )
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        status, transient = deliver_notification(row, user, settings, client,
                                                 final=last_attempt(self))
    if transient:
        raise TransientError(f"notification {row.id} on {channel} failed transiently")
    return {"notification_id": row.id, "channel": channel, "status": status,
            "duplicate": not new and not retrying}
