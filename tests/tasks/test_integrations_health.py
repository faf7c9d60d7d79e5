"""integrations.health_check: local and HTTP sources, token validity, alerts on new failures."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa

from runtime.process.embedded import free_port
from tasks import store
from tasks.errors import PermanentError
from tasks.integrations import HEALTH_PREFIX, HealthSettings, check_integrations
from tasks.store.db.tables import alert_deliveries, alerts, health_checks, integrations
from tests.tasks.loopback import WebhookReceiver
from tests.tasks.notify_fixtures import webhook

__all__ = ["webhook"]  # fixture


@pytest.fixture
def user_id(db: sa.Engine) -> int:
    with store.transaction() as conn:
        return store.ensure_user(conn, email="owner@example.com")


@pytest.fixture
def alert_env(webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIR_NOTIFY_CHANNELS", "webhook")
    monkeypatch.setenv("AIR_NOTIFY_WEBHOOK_URL", webhook.url + "/alerts")


def maildir(root: Path) -> Path:
    for name in ("cur", "new", "tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return root


def add(user_id: int, **fields: Any) -> int:
    values = {"kind": "mail", "provider": "maildir", **fields}
    with store.transaction() as conn:
        return store.add_integration(conn, user_id=user_id, **values)


def integration(integration_id: int) -> Any:
    with store.transaction(readonly=True) as conn:
        return store.get_integration(conn, integration_id)


def rows(*tables: sa.Table) -> dict[str, list[dict[str, Any]]]:
    with store.transaction(readonly=True) as conn:
        return {t.name: [dict(r) for r in conn.execute(
            sa.select(t).order_by(*t.primary_key.columns)).mappings()] for t in tables}


def check(**kw: Any) -> dict[str, int]:
    with httpx.Client(timeout=2) as client:
        counts, _ = check_integrations(client, HealthSettings(), channels=("log",), **kw)
    return counts


def queued_tasks(client: redis.Redis) -> list[tuple[str, dict[str, Any]]]:
    """(task name, kwargs) of every message waiting in the high_priority queue's lists."""
    found = []
    for key in client.scan_iter(match="high_priority*"):
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], kwargs))
    return found


def test_sources_and_tokens_are_probed(
    user_id: int, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    soon = store.utcnow() + timedelta(hours=1)
    mbox = tmp_path / "mail.mbox"
    mbox.write_bytes(b"From a@example.com Mon Jan  1 00:00:00 2024\n\nhi\n")
    calendar = tmp_path / "calendars"
    calendar.mkdir()
    ok = [
        add(user_id, source=str(maildir(tmp_path / "Maildir"))),
        add(user_id, provider="mbox", source=mbox.as_uri()),
        add(user_id, kind="calendar", provider="ical", source=str(calendar)),
        add(user_id, kind="crm", provider="api", source=webhook.url + "/api",
            token_endpoint=webhook.url + "/token", refresh_token="r", access_token="a",
            expires_at=soon),
        add(user_id, kind="crm", provider="imap", source="imap://mail.example.com"),  # no probe
    ]
    failing = {
        add(user_id, source=str(tmp_path / "missing")): "does not exist",
        add(user_id, source=str(tmp_path)): "is not a Maildir (no cur, new/)",
        add(user_id, kind="crm", provider="api", source=f"http://127.0.0.1:{free_port()}/"):
            "unreachable: ConnectError",
        add(user_id, kind="crm", provider="api", access_token="a", refresh_token="r",
            expires_at=store.utcnow() - timedelta(minutes=1)): "access token expired at",
        add(user_id, kind="crm", provider="api", token_endpoint=webhook.url + "/token",
            refresh_token="r"): "no access token",
    }
    assert check() == {"checked": 10, "ok": 5, "failing": 5, "new_failures": 5}
    for iid in ok:
        assert integration(iid).status == "ok"
    for iid, words in failing.items():
        broken = integration(iid)
        assert broken.status == "broken" and broken.last_error.startswith(HEALTH_PREFIX)
        assert words in broken.last_error
    assert [r["method"] for r in webhook.requests] == ["HEAD"]


@pytest.mark.parametrize(
    ("answers", "healthy"),
    [([200], True), ([404], True), ([503], False), ([405, 200], True), ([405, 500], False)],
)
def test_an_http_source_is_healthy_below_500(
    user_id: int, webhook: WebhookReceiver, answers: list[int], healthy: bool
) -> None:
    webhook.script.extend(answers)
    iid = add(user_id, kind="crm", provider="api", source=webhook.url + "/ping")
    assert check(integration_id=iid)["ok"] == int(healthy)
    assert [r["method"] for r in webhook.requests] == ["HEAD", "GET"][:len(answers)]


def test_a_refresh_break_is_reported_but_left_alone(user_id: int, tmp_path: Path) -> None:
    iid = add(user_id, source=str(maildir(tmp_path)), access_token="a", refresh_token="r",
              expires_at=store.utcnow() + timedelta(hours=1))
    with store.transaction() as conn:
        store.set_status(conn, iid, "broken", error="invalid_grant: token revoked")
    assert check()["failing"] == 1
    row = integration(iid)
    assert (row.status, row.last_error) == ("broken", "invalid_grant: token revoked")
    with store.transaction(readonly=True) as conn:
        assert store.latest_health_check(conn, iid).detail == (
            "broken: invalid_grant: token revoked")


def test_the_checks_own_break_is_lifted_on_recovery(user_id: int, tmp_path: Path) -> None:
    iid = add(user_id, source=str(maildir(tmp_path)), access_token="a", refresh_token="r",
              expires_at=store.utcnow() - timedelta(minutes=1))
    assert check()["failing"] == 1
    with store.transaction() as conn:  # auth.token_refresh repairs the token
        store.store_tokens(conn, iid, access_token="b",
                           expires_at=store.utcnow() + timedelta(hours=1))
    assert check()["ok"] == 1
    assert (integration(iid).status, integration(iid).last_error) == ("ok", None)


def test_a_new_failure_alerts_once_and_a_repeat_does_not(
    air_app: Any, user_id: int, tmp_path: Path, alert_env: None, webhook: WebhookReceiver,
    redis_client: redis.Redis,
) -> None:
    source = maildir(tmp_path / "Maildir")
    iid = add(user_id, source=str(source))
    task = air_app.tasks["integrations.health_check"]
    assert task.apply().get() == {"checked": 1, "ok": 1, "failing": 0, "new_failures": 0,
                                  "alerts": 0}
    state = rows(integrations, alerts)
    assert task.apply().get()["ok"] == 1  # re-run: the same verdict, nothing else changes
    assert rows(integrations, alerts) == state

    shutil.rmtree(source)
    assert task.apply().get() == {"checked": 1, "ok": 0, "failing": 1, "new_failures": 1,
                                  "alerts": 1}
    [(name, kwargs)] = queued_tasks(redis_client)  # sent to notify.critical_alert's queue
    assert name == "notify.critical_alert"
    assert kwargs["dedup_key"] == f"integration:{iid}:health"
    assert "does not exist" in kwargs["body"]
    delivered = air_app.tasks[name].apply(kwargs=kwargs).get()  # what the high-priority pool does
    assert delivered["status"] == {"webhook": "delivered"}
    assert webhook.delivered[0]["title"] == f"Integration {iid} (maildir mail) is failing"

    state = rows(integrations, alerts, alert_deliveries)
    redis_client.flushdb()
    assert task.apply().get()["alerts"] == 0  # still failing: not a new failure
    assert rows(integrations, alerts, alert_deliveries) == state
    assert queued_tasks(redis_client) == []

    maildir(source)  # recovers, then fails again within the alert window: no second alert
    assert task.apply().get()["ok"] == 1
    shutil.rmtree(source)
    assert task.apply().get() == {"checked": 1, "ok": 0, "failing": 1, "new_failures": 1,
                                  "alerts": 0}
    assert queued_tasks(redis_client) == []
    with store.transaction(readonly=True) as conn:
        history = [h.status for h in reversed(store.health_history(conn, iid))]
    assert history == ["ok", "ok", "broken", "broken", "ok", "broken"]
    assert len(webhook.delivered) == 1


def test_after_the_alert_window_a_new_failure_alerts_again(
    user_id: int, tmp_path: Path
) -> None:
    source = maildir(tmp_path / "Maildir")
    add(user_id, source=str(source))
    settings = HealthSettings(alert_window=timedelta(minutes=30))
    now = store.utcnow()
    raised = []
    with httpx.Client(timeout=2) as client:
        for minutes, exists in ((0, False), (10, True), (20, False), (40, True), (50, False)):
            if exists:
                maildir(source)
            else:
                shutil.rmtree(source, ignore_errors=True)
            _, sent = check_integrations(client, settings, channels=("log",),
                                         now=now + timedelta(minutes=minutes))
            raised.append(len(sent))
    assert raised == [1, 0, 0, 0, 1]
    assert len(rows(health_checks)["health_checks"]) == 5


def test_settings_from_the_environment() -> None:
    settings = HealthSettings.from_env({"AIR_INTEGRATIONS_PROBE_TIMEOUT": "2.5",
                                        "AIR_INTEGRATIONS_ALERT_WINDOW": "600"})
    assert (settings.probe_timeout, settings.alert_window) == (2.5, timedelta(minutes=10))
    assert HealthSettings.from_env({}) == HealthSettings()


def test_an_unknown_integration_fails_without_retry(air_app: Any, db: sa.Engine) -> None:
    result = air_app.tasks["integrations.health_check"].apply(kwargs={"integration_id": 4242})
    assert result.failed() and isinstance(result.result, PermanentError)
