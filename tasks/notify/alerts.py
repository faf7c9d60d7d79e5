"""notify.critical_alert: deliver an alert on every configured channel, once per dedup window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from celery import shared_task

from tasks import store
from tasks.errors import PermanentError, TransientError
from tasks.notify.channels import Message, Target, content_key, deliver
from tasks.notify.errors import DeliveryError, last_attempt
from tasks.notify.settings import NotifySettings
from tasks.store.queries.alerts import SEVERITIES

log = structlog.get_logger(__name__)


def open_alert(
    *, severity: str, title: str, body: str, channels: Sequence[str], dedup_key: str,
    window: timedelta, rearm: bool = True, now: datetime | None = None,
) -> tuple[int, bool]:
    """The alert to deliver and whether this call raised it (False: a repeat inside the window,
    or a retry, which never re-arms, so it re-sends only the channels still pending)."""
    with store.transaction() as conn:
        if rearm:
            alert_id = store.raise_alert(conn, severity=severity, title=title, body=body,
                                         channels=channels, dedup_key=dedup_key, window=window,
                                         now=now)
            if alert_id is not None:
                return alert_id, True
        row = store.find_alert(conn, dedup_key)
        if row is not None:
            return int(row.id), False
        alert_id = store.raise_alert(conn, severity=severity, title=title, body=body,
                                     channels=channels, dedup_key=dedup_key, now=now)
        if alert_id is None:  # cannot happen: the key was just found missing in this transaction
            raise RuntimeError(f"alert {dedup_key} vanished")
        return alert_id, True


def alert_message(alert: Any) -> Message:
    return Message(
        # Re-arming an alert gives it a new created_at, so a new occurrence gets a new key.
        key=f"alert-{alert.id}-{int(alert.created_at.timestamp())}",
        subject=f"[{alert.severity.upper()}] {alert.title}",
        body=alert.body,
        level=alert.severity if alert.severity in ("warning", "critical") else "info",
        data={"type": "alert", "id": alert.id, "severity": alert.severity, "title": alert.title,
              "body": alert.body, "dedup_key": alert.dedup_key,
              "created_at": alert.created_at.isoformat()},
    )


def deliver_alert(
    alert_id: int, settings: NotifySettings, client: httpx.Client, *, final: bool = True
) -> dict[str, Any]:
    """Send the alert on each channel still pending, then record every outcome in one
    transaction. A transient failure stays pending (for the retry) unless `final`."""
    with store.transaction(readonly=True) as conn:
        alert = store.get_alert(conn, alert_id)
        if alert is None:
            raise PermanentError(f"no alert {alert_id}")
        pending = [c for c, status in store.alert_status(conn, alert_id).items()
                   if status == "pending"]
    message = alert_message(alert)
    target = Target(webhook_url=settings.webhook_url, email_to=settings.alert_email_to)
    errors: dict[str, DeliveryError] = {}
    for channel in pending:
        try:
            deliver(channel, message, target, settings, client)
        except DeliveryError as exc:
            errors[channel] = exc
            log.warning("alert_delivery_failed", alert_id=alert_id, channel=channel,
                        error=str(exc), transient=exc.transient)
    with store.transaction() as conn:
        for channel in pending:
            if channel not in errors:
                store.mark_alert_delivered(conn, alert_id, channel)
            else:
                error = errors[channel]
                store.mark_alert_failed(conn, alert_id, channel, error=str(error)[:2000],
                                        final=final or not error.transient)
        status = store.alert_status(conn, alert_id)
    sent = [channel for channel in pending if channel not in errors]
    log.info("alert_delivered", alert_id=alert_id, sent=sent, status=status)
    retry = sorted(channel for channel, error in errors.items() if error.transient)
    return {"alert_id": alert_id, "sent": sent, "status": status, "retry": retry}


@shared_task(name="notify.critical_alert", bind=True)
def critical_alert(
    self: Any, title: str, body: str = "", severity: str = "critical",
    dedup_key: str | None = None, window: float | None = None,
    channels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Deliver an alert on `channels` (default AIR_NOTIFY_CHANNELS). Repeats of `dedup_key`
    (default: a hash of severity, title and body) within `window` seconds (default
    AIR_NOTIFY_DEDUP_WINDOW) are dropped; a retry re-sends only the channels not yet delivered."""
    if severity not in SEVERITIES:
        raise PermanentError(f"severity {severity!r} is not one of {SEVERITIES}")
    settings = NotifySettings.from_env()
    key = dedup_key or content_key("alert", severity, title, body)
    retrying = bool(self.request.retries)
    alert_id, new = open_alert(
        severity=severity, title=title, body=body, dedup_key=key,
        channels=tuple(channels) if channels else settings.channels,
        window=settings.dedup_window if window is None else timedelta(seconds=float(window)),
        rearm=not retrying,
    )
    with httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        summary = deliver_alert(alert_id, settings, client, final=last_attempt(self))
    # A repeat within the window that found nothing left to send (a first delivery of an alert
    # the health check raised is not one).
    summary["duplicate"] = not new and not retrying and not summary["sent"]
    if summary["retry"]:
        raise TransientError(f"alert {alert_id}: {', '.join(summary['retry'])} failed transiently")
    return summary
