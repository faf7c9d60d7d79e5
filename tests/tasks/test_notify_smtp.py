"""The email channel against real aiosmtpd servers: plain, STARTTLS with login, implicit TLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from runtime.process.embedded import free_port
from tasks.notify.errors import DeliveryError
from tasks.notify.settings import NotifySettings
from tasks.notify.smtp import send_email
from tests.tasks.loopback import MailSink, password_check, self_signed_cert, smtp_server

pytest.importorskip("cryptography", reason="the TLS tests make a self-signed certificate")


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path)


@pytest.fixture
def server_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    return context


def serve(sink: MailSink, **options: Any) -> Iterator[MailSink]:
    controller = smtp_server(sink, **options)
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def plain() -> Iterator[MailSink]:
    yield from serve(MailSink())


@pytest.fixture
def starttls(server_tls: ssl.SSLContext) -> Iterator[MailSink]:
    yield from serve(MailSink(), tls_context=server_tls, require_starttls=True,
                     authenticator=password_check("air", "pw"), auth_require_tls=True)


@pytest.fixture
def implicit_tls(server_tls: ssl.SSLContext) -> Iterator[MailSink]:
    yield from serve(MailSink(), ssl_context=server_tls)


def settings(sink: MailSink, **kw: Any) -> NotifySettings:
    values = {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_security": "none",
              "email_from": "air@example.com", "smtp_timeout": 5.0, **kw}
    return NotifySettings(**values)


def send(config: NotifySettings, to: tuple[str, ...] = ("ann@example.com",)) -> None:
    send_email(config, to=to, subject="Hello", body="Body text", key="k-1")


def test_plain_smtp_delivers_a_well_formed_message(plain: MailSink) -> None:
    send(settings(plain), to=("ann@example.com", "bob@example.com"))
    [envelope] = plain.messages
    assert envelope.mail_from == "air@example.com"
    assert envelope.rcpt_tos == ["ann@example.com", "bob@example.com"]
    message = message_from_bytes(envelope.content)
    assert (message["Subject"], message["X-Air-Key"]) == ("Hello", "k-1")
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]
    assert message.get_payload().strip() == "Body text"


def test_starttls_with_login(starttls: MailSink, cert: tuple[Path, Path]) -> None:
    config = settings(starttls, smtp_security="starttls", smtp_ca_file=str(cert[0]),
                      smtp_username="air", smtp_password="pw")
    send(config)
    assert len(starttls.messages) == 1
    with pytest.raises(DeliveryError, match="SMTPAuthenticationError") as caught:
        send(settings(starttls, smtp_security="starttls", smtp_ca_file=str(cert[0]),
                      smtp_username="air", smtp_password="wrong"))
    assert not caught.value.transient
    assert "wrong" not in repr(config)  # the password never shows in a repr or a log
    assert "pw" not in repr(config)


def test_a_server_requiring_starttls_refuses_plain_mail(starttls: MailSink) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(settings(starttls))
    assert not caught.value.transient  # 530: must issue STARTTLS first
    assert starttls.messages == []


def test_implicit_tls(implicit_tls: MailSink, cert: tuple[Path, Path]) -> None:
    send(settings(implicit_tls, smtp_security="ssl", smtp_ca_file=str(cert[0])))
    assert len(implicit_tls.messages) == 1


def test_an_untrusted_certificate_is_refused_for_good(implicit_tls: MailSink) -> None:
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        send(settings(implicit_tls, smtp_security="ssl"))
    assert not caught.value.transient
    assert implicit_tls.messages == []


@pytest.mark.parametrize(
    ("reply", "transient"),
    [("451 4.3.0 try again later", True), ("554 5.7.1 rejected as spam", False)],
)
def test_replies_are_classified_by_their_code(plain: MailSink, reply: str, transient: bool) -> None:
    plain.script.append(reply)
    with pytest.raises(DeliveryError) as caught:
        send(settings(plain))
    assert caught.value.transient is transient


def test_an_unreachable_server_is_transient_and_no_recipient_is_not() -> None:
    closed = NotifySettings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none",
                            smtp_timeout=2.0)
    with pytest.raises(DeliveryError) as caught:
        send(closed)
    assert caught.value.transient
    with pytest.raises(DeliveryError, match="no email recipient") as caught:
        send(closed, to=())
    assert not caught.value.transient


def test_settings_from_the_environment() -> None:
    config = NotifySettings.from_env({
        "AIR_NOTIFY_CHANNELS": " Log, webhook,,email,log ",
        "AIR_NOTIFY_SMTP_SECURITY": "ssl",
        "AIR_NOTIFY_ALERT_EMAIL_TO": "a@example.com,b@example.com",
        "AIR_NOTIFY_WEBHOOK_URL": "http://127.0.0.1:1/hook",
        "AIR_NOTIFY_DEDUP_WINDOW": "60",
    })
    assert config.channels == ("log", "webhook", "email")
    assert (config.smtp_port, config.smtp_security) == (465, "ssl")
    assert config.alert_email_to == ("a@example.com", "b@example.com")
    assert config.user_webhook_url == "http://127.0.0.1:1/hook"
    assert config.dedup_window.total_seconds() == 60
    assert NotifySettings.from_env({}).channels == ("log",)
    with pytest.raises(ValueError, match="AIR_NOTIFY_SMTP_SECURITY"):
        NotifySettings.from_env({"AIR_NOTIFY_SMTP_SECURITY": "tls"})
