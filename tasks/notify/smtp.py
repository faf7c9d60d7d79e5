"""The email channel: one message over SMTP (plain, STARTTLS or TLS), failures classified."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import structlog

from tasks.notify.errors import DeliveryError
from tasks.notify.settings import NotifySettings

log = structlog.get_logger(__name__)


def build_message(
    settings: NotifySettings, *, to: Sequence[str], subject: str, body: str, key: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.email_from.rpartition("@")[2] or None)
    if key:
        message["X-Air-Key"] = key  # lets a recipient's filters spot an at-least-once repeat
    message.set_content(body)
    return message


def send_email(
    settings: NotifySettings, *, to: Sequence[str], subject: str, body: str, key: str | None = None
) -> None:
    """Send one message to `to`; raises DeliveryError (transient or not) when it was not sent."""
    if not to:
        raise DeliveryError("no email recipient (AIR_NOTIFY_ALERT_EMAIL_TO)", transient=False)
    message = build_message(settings, to=to, subject=subject, body=body, key=key)
    try:
        with _connect(settings) as smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=_tls_context(settings))
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise classify(exc) from exc
    if refused:  # some recipients took it: a retry would repeat it to them, so report only
        log.warning("email_recipients_refused", refused=sorted(refused))
    log.info("email_sent", recipients=len(to), host=settings.smtp_host)


def _connect(settings: NotifySettings) -> smtplib.SMTP:
    if settings.smtp_security == "ssl":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                timeout=settings.smtp_timeout, context=_tls_context(settings))
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)


def _tls_context(settings: NotifySettings) -> ssl.SSLContext:
    # Certificates and host names are always verified; a private CA is added, never a bypass.
    return ssl.create_default_context(cafile=settings.smtp_ca_file)


def classify(exc: BaseException) -> DeliveryError:
    """SMTP 4xx replies and lost connections may pass; 5xx replies, refused logins, a missing
    STARTTLS and TLS failures (bad certificate, wrong port) will not (RFC 5321 section 4.2.1)."""
    transient: bool
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        transient = all(400 <= code < 500 for code, _ in exc.recipients.values())
    elif isinstance(exc, smtplib.SMTPResponseException):  # auth, sender, data, connect replies
        transient = 400 <= exc.smtp_code < 500
    elif isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLError):  # TLS misconfigured
        transient = False
    else:  # disconnected, refused connection, timeout, reset
        transient = True
    return DeliveryError(f"smtp: {type(exc).__name__}: {exc}", transient=transient)
