"""Notification settings: channels, de-duplication window, webhook and SMTP, from AIR_NOTIFY_*."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

CHANNELS = ("log", "webhook", "email")
SMTP_SECURITY = ("none", "starttls", "ssl")
_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySettings:
    """Where alerts and notifications go. Secrets (the SMTP password) only ever come from env."""

    channels: tuple[str, ...] = ("log",)  # AIR_NOTIFY_CHANNELS: alert channels, comma-separated
    dedup_window: timedelta = timedelta(hours=1)  # AIR_NOTIFY_DEDUP_WINDOW, seconds
    webhook_url: str | None = None  # AIR_NOTIFY_WEBHOOK_URL: alerts (and users, by default)
    user_webhook_url: str | None = None  # AIR_NOTIFY_USER_WEBHOOK_URL
    webhook_timeout: float = 5.0  # AIR_NOTIFY_WEBHOOK_TIMEOUT, seconds
    smtp_host: str = "localhost"  # AIR_NOTIFY_SMTP_HOST
    smtp_port: int = 587  # AIR_NOTIFY_SMTP_PORT (default by security: 25, 587, 465)
    smtp_security: str = "starttls"  # AIR_NOTIFY_SMTP_SECURITY: none | starttls | ssl
    smtp_username: str | None = None  # AIR_NOTIFY_SMTP_USERNAME: log in when set
    smtp_password: str | None = field(default=None, repr=False)  # AIR_NOTIFY_SMTP_PASSWORD
    smtp_ca_file: str | None = None  # AIR_NOTIFY_SMTP_CA_FILE: extra CA to verify the server
    smtp_timeout: float = 5.0  # AIR_NOTIFY_SMTP_TIMEOUT, seconds
    email_from: str = "air@localhost"  # AIR_NOTIFY_EMAIL_FROM
    alert_email_to: tuple[str, ...] = ()  # AIR_NOTIFY_ALERT_EMAIL_TO: alert recipients

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> NotifySettings:
        def text(name: str) -> str | None:
            return env.get(f"AIR_NOTIFY_{name}", "").strip() or None

        def number(name: str, default: float) -> float:
            raw = text(name)
            return float(raw) if raw else default

        base = cls()  # slots: the class attributes are descriptors, not the defaults
        security = (text("SMTP_SECURITY") or base.smtp_security).lower()
        if security not in SMTP_SECURITY:
            raise ValueError(f"AIR_NOTIFY_SMTP_SECURITY={security!r}: use one of {SMTP_SECURITY}")
        webhook = text("WEBHOOK_URL")
        return cls(
            channels=split((text("CHANNELS") or "log").lower()),
            dedup_window=timedelta(
                seconds=number("DEDUP_WINDOW", base.dedup_window.total_seconds())),
            webhook_url=webhook,
            user_webhook_url=text("USER_WEBHOOK_URL") or webhook,
            webhook_timeout=number("WEBHOOK_TIMEOUT", base.webhook_timeout),
            smtp_host=text("SMTP_HOST") or base.smtp_host,
            smtp_port=int(number("SMTP_PORT", _SMTP_PORTS[security])),
            smtp_security=security,
            smtp_username=text("SMTP_USERNAME"),
            smtp_password=env.get("AIR_NOTIFY_SMTP_PASSWORD") or None,  # kept verbatim
            smtp_ca_file=text("SMTP_CA_FILE"),
            smtp_timeout=number("SMTP_TIMEOUT", base.smtp_timeout),
            email_from=text("EMAIL_FROM") or base.email_from,
            alert_email_to=split(text("ALERT_EMAIL_TO") or ""),
        )


def split(value: str) -> tuple[str, ...]:
    """'log, webhook,,email' -> ('log', 'webhook', 'email'), order kept, repeats dropped."""
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
