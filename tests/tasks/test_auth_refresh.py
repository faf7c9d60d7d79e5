"""auth.token_refresh against a real loopback OAuth token endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from runtime.broker.deadletter import DeadLetterStore
from runtime.process.embedded import free_port
from tasks import store
from tasks.auth.grant import GrantError, basic_credentials, parse_response
from tasks.auth.refresh import AuthSettings, refresh_due, refresh_one
from tasks.errors import PermanentError
from tasks.integrations import HEALTH_PREFIX
from tasks.store.db.tables import integrations
from tests.tasks.loopback import TokenServer, served

SECRET_ENV = "AIR_TEST_OAUTH_SECRET"
SETTINGS = AuthSettings()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenServer]:
    monkeypatch.setenv(SECRET_ENV, "s3cret +/:")  # characters Basic auth must form-encode
    yield from served(TokenServer({"air": "s3cret +/:", "public": ""}))


@pytest.fixture
def user_id(db: sa.Engine) -> int:
    with store.transaction() as conn:
        return store.ensure_user(conn, email="owner@example.com")


def add(server: TokenServer, user_id: int, refresh: str, expires_in: timedelta | None,
        **fields: Any) -> int:
    """An integration whose token expires `expires_in` from now, known to the server."""
    values = {"kind": "mail", "provider": "google", "token_endpoint": server.token_url,
              "client_id": "air", "client_secret_env": SECRET_ENV, "access_token": "old",
              "refresh_token": refresh,
              "expires_at": None if expires_in is None else store.utcnow() + expires_in,
              **fields}
    server.grants[refresh] = values["client_id"]
    with store.transaction() as conn:
        return store.add_integration(conn, user_id=user_id, **values)


def row(integration_id: int) -> Any:
    with store.transaction(readonly=True) as conn:
        return store.get_integration(conn, integration_id)


def snapshot() -> list[dict[str, Any]]:
    with store.transaction(readonly=True) as conn:
        stmt = sa.select(integrations).order_by(integrations.c.id)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def run(**kw: Any) -> dict[str, int]:
    with httpx.Client(timeout=5) as client:
        return refresh_due(client, kw.pop("settings", SETTINGS), **kw)


def test_refreshes_what_expires_soon_then_nothing(server: TokenServer, user_id: int) -> None:
    soon = add(server, user_id, "r-soon", timedelta(minutes=5))
    expired = add(server, user_id, "r-expired", -timedelta(hours=1))
    later = add(server, user_id, "r-later", timedelta(hours=2))
    before = store.utcnow()
    assert run() == {"due": 2, "refreshed": 2, "broken": 0, "failed": 0, "transient": 0,
                     "superseded": 0, "deferred": 0}
    request = server.requests[0]
    assert request["form"] == {"grant_type": "refresh_token", "refresh_token": "r-expired",
                               "client_id": "air"}  # soonest first; the secret is not in it
    assert request["headers"]["Authorization"] == basic_credentials("air", "s3cret +/:")
    for iid in (soon, expired):
        refreshed = row(iid)
        assert refreshed.access_token.startswith("at-")
        assert refreshed.refresh_token in ("r-soon", "r-expired")  # not rotated
        assert before + timedelta(seconds=3590) < refreshed.expires_at < store.utcnow() + \
            timedelta(seconds=3600)
    assert row(later).access_token == "old"
    state = snapshot()
    assert run()["due"] == 0  # idempotent: nothing expires soon any more
    assert snapshot() == state
    assert len(server.requests) == 2


def test_rotated_refresh_token_replaces_the_old_one(server: TokenServer, user_id: int) -> None:
    server.rotate = True
    iid = add(server, user_id, "r1", timedelta(minutes=1))
    assert run()["refreshed"] == 1
    assert row(iid).refresh_token == "r1.r1"
    assert "r1" not in server.grants
    assert run(integration_id=iid, force=True)["refreshed"] == 1  # the new one works
    assert row(iid).refresh_token == "r1.r1.r2"


def test_client_secret_in_the_body_and_public_clients(
    server: TokenServer, user_id: int
) -> None:
    confidential = add(server, user_id, "r-c", timedelta(minutes=1))
    public = add(server, user_id, "r-p", timedelta(minutes=1), client_id="public",
                 client_secret_env=None)
    server.expires_in = "120"  # some servers send a string
    assert run(settings=AuthSettings(client_auth="body"))["refreshed"] == 2
    forms = {r["form"]["refresh_token"]: r for r in server.requests}
    assert forms["r-c"]["form"]["client_secret"] == "s3cret +/:"
    assert "Authorization" not in forms["r-c"]["headers"]
    assert forms["r-p"]["form"] == {"grant_type": "refresh_token", "refresh_token": "r-p",
                                    "client_id": "public"}
    assert row(public).expires_at < store.utcnow() + timedelta(seconds=121)
    assert row(confidential).access_token != "old"


def test_a_health_check_break_is_refreshed_a_refresh_break_is_not(
    server: TokenServer, user_id: int
) -> None:
    by_health = add(server, user_id, "r-h", -timedelta(minutes=1))
    revoked = add(server, user_id, "r-x", -timedelta(minutes=1))
    with store.transaction() as conn:
        store.set_status(conn, by_health, "broken", error=HEALTH_PREFIX + "token expired")
        store.set_status(conn, revoked, "broken", error="invalid_grant: revoked")
    assert run()["refreshed"] == 1
    assert row(by_health).access_token.startswith("at-")
    assert row(revoked).access_token == "old"


def test_configuration_errors_are_recorded_without_a_request(
    server: TokenServer, user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    iid = add(server, user_id, "r1", timedelta(minutes=1))
    assert run()["failed"] == 1
    assert server.requests == []
    assert (row(iid).status, row(iid).last_error) == (
        "ok", f"client secret variable {SECRET_ENV} is not set")
    state = snapshot()
    assert run()["failed"] == 1
    assert snapshot() == state


def test_network_errors_and_5xx_are_transient(server: TokenServer, user_id: int) -> None:
    add(server, user_id, "r-down", timedelta(minutes=1))
    add(server, user_id, "r-429", timedelta(minutes=1))
    add(server, user_id, "r-closed", timedelta(minutes=1),
        token_endpoint=f"http://127.0.0.1:{free_port()}/token")
    server.script["r-down"] = deque([503])
    server.script["r-429"] = deque([429])
    state = snapshot()
    assert run()["transient"] == 3
    assert snapshot() == state  # nothing written: the retry tries again


def test_a_concurrent_refresh_supersedes_a_stale_one(server: TokenServer, user_id: int) -> None:
    iid = add(server, user_id, "r1", timedelta(minutes=1))
    stale = row(iid)
    with store.transaction() as conn:  # another run rotated it meanwhile
        store.store_tokens(conn, iid, access_token="new", expires_at=store.utcnow(),
                           refresh_token="r2")
    server.script["r1"] = deque(["invalid_grant"])  # the spent token is refused ...
    with httpx.Client(timeout=5) as client:
        assert refresh_one(client, stale, SETTINGS) == "superseded"
    assert (row(iid).status, row(iid).refresh_token) == ("ok", "r2")  # ... and breaks nothing


def test_the_budget_defers_the_rest_to_the_retry(server: TokenServer, user_id: int) -> None:
    for n in range(3):
        add(server, user_id, f"r{n}", timedelta(minutes=1))
    summary = run(settings=AuthSettings(budget=0))
    assert (summary["refreshed"], summary["deferred"]) == (1, 2)
    assert run()["refreshed"] == 2


def test_a_single_integration_is_refreshed_only_when_due_unless_forced(
    server: TokenServer, user_id: int
) -> None:
    iid = add(server, user_id, "r1", timedelta(hours=2))
    assert run(integration_id=iid)["due"] == 0
    assert run(integration_id=iid, window=timedelta(hours=3))["refreshed"] == 1
    assert run(integration_id=iid, force=True)["refreshed"] == 1
    with pytest.raises(PermanentError, match="no integration"):
        run(integration_id=999_999)


# --- through Celery, with the shipped retry policy (auth.token_refresh: max 5) --------------


def test_invalid_grant_marks_broken_and_is_not_retried(
    air_app: Any, server: TokenServer, user_id: int, redis_url: str
) -> None:
    iid = add(server, user_id, "r1", timedelta(minutes=1))
    server.script["r1"] = deque(["invalid_grant"])
    result = air_app.tasks["auth.token_refresh"].apply()
    assert result.successful()
    assert result.result["broken"] == 1
    assert server.attempts("r1") == 1
    broken = row(iid)
    assert (broken.status, broken.last_error) == ("broken", "invalid_grant: token revoked")
    again = air_app.tasks["auth.token_refresh"].apply(kwargs={"integration_id": iid})
    assert again.result["due"] == 0 and server.attempts("r1") == 1
    assert DeadLetterStore.from_url(redis_url).count() == 0


def test_transient_failures_retry_per_policy_then_dead_letter(
    air_app: Any, server: TokenServer, user_id: int, redis_url: str
) -> None:
    add(server, user_id, "r1", timedelta(minutes=1))
    server.down = True
    state = snapshot()
    result = air_app.tasks["auth.token_refresh"].apply()
    assert result.failed()
    assert server.attempts("r1") == 1 + 5  # the first try and five retries
    letter = DeadLetterStore.from_url(redis_url).get(result.id)
    assert letter is not None
    assert (letter.task, letter.exception) == ("auth.token_refresh", "TransientError")
    assert snapshot() == state


def test_a_retry_redoes_only_the_failed_refresh(
    air_app: Any, server: TokenServer, user_id: int
) -> None:
    fine = add(server, user_id, "r-fine", timedelta(minutes=1))
    flaky = add(server, user_id, "r-flaky", timedelta(minutes=2))
    server.script["r-flaky"] = deque([500, 502])
    result = air_app.tasks["auth.token_refresh"].apply()
    assert result.successful()
    assert (server.attempts("r-fine"), server.attempts("r-flaky")) == (1, 3)
    assert result.result["refreshed"] == 1  # the last attempt's own work
    assert row(fine).access_token != "old" and row(flaky).access_token != "old"


def test_an_unknown_integration_fails_without_retry(air_app: Any, db: sa.Engine) -> None:
    result = air_app.tasks["auth.token_refresh"].apply(kwargs={"integration_id": 424242})
    assert result.failed() and isinstance(result.result, PermanentError)
    assert result.traceback and "no integration 424242" in result.traceback


# --- the grant's response parsing, no server needed -------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "code", "transient"),
    [
        (200, b"<html>", "invalid_response", False),
        (200, b'{"token_type": "Bearer"}', "invalid_response", False),
        (401, b'{"error": "invalid_client"}', "invalid_client", False),
        (400, b"not json", "http_400", False),
        (503, b"", "http_503", True),
        (429, b"{}", "http_429", True),
    ],
)
def test_error_responses_are_classified(
    status: int, body: bytes, code: str, transient: bool
) -> None:
    with pytest.raises(GrantError) as caught:
        parse_response(httpx.Response(status, content=body))
    assert (caught.value.code, caught.value.transient) == (code, transient)


def test_a_success_response_is_parsed() -> None:
    body = b'{"access_token": "a", "expires_in": 60.5, "refresh_token": "", "token_type": "x"}'
    tokens = parse_response(httpx.Response(200, content=body))
    assert (tokens.access_token, tokens.expires_in, tokens.refresh_token) == ("a", 60, None)


def test_settings_from_the_environment() -> None:
    settings = AuthSettings.from_env({"AIR_AUTH_REFRESH_WINDOW": "60",
                                      "AIR_AUTH_CLIENT_AUTH": " BODY "})
    assert (settings.refresh_window, settings.client_auth) == (timedelta(seconds=60), "body")
    assert AuthSettings.from_env({}) == AuthSettings()
    with pytest.raises(ValueError, match="AIR_AUTH_CLIENT_AUTH"):
        AuthSettings.from_env({"AIR_AUTH_CLIENT_AUTH": "private_key_jwt"})
