"""auth.token_refresh: refresh the OAuth tokens that expire soon with the refresh-token grant."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.auth.grant import CLIENT_AUTH_METHODS, GrantError, Tokens, request_refresh
from tasks.errors import PermanentError, TransientError
from tasks.integrations import broken_by_health

log = structlog.get_logger(__name__)

OUTCOMES = ("refreshed", "broken", "failed", "transient", "superseded", "deferred")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    """Token refresh settings, read from AIR_AUTH_* environment variables."""

    refresh_window: timedelta = timedelta(minutes=15)  # AIR_AUTH_REFRESH_WINDOW, seconds
    http_timeout: float = 5.0  # AIR_AUTH_HTTP_TIMEOUT, seconds per connect/read/write
    client_auth: str = "basic"  # AIR_AUTH_CLIENT_AUTH: basic | body
    default_expires_in: int = 3600  # AIR_AUTH_DEFAULT_EXPIRES_IN: when a response has none
    # AIR_AUTH_REFRESH_BUDGET: start no refresh after this many seconds, so the last one ends
    # inside the 30 s soft time limit; the rest are left to the retry.
    budget: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AuthSettings:
        def number(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            return float(raw) if raw else default

        base = cls()  # slots: the class attributes are descriptors, not the defaults
        client_auth = env.get("AIR_AUTH_CLIENT_AUTH", "").strip().lower() or base.client_auth
        if client_auth not in CLIENT_AUTH_METHODS:
            raise ValueError(f"AIR_AUTH_CLIENT_AUTH={client_auth!r}: use basic or body")
        return cls(
            refresh_window=timedelta(
                seconds=number("AIR_AUTH_REFRESH_WINDOW", base.refresh_window.total_seconds())),
            http_timeout=number("AIR_AUTH_HTTP_TIMEOUT", base.http_timeout),
            client_auth=client_auth,
            default_expires_in=int(number("AIR_AUTH_DEFAULT_EXPIRES_IN", base.default_expires_in)),
            budget=number("AIR_AUTH_REFRESH_BUDGET", base.budget),
        )


def due_integrations(
    conn: sa.Connection, *, within: timedelta, now: datetime, integration_id: int | None = None,
    force: bool = False,
) -> list[sa.Row[Any]]:
    """What to refresh: every refreshable token expiring within `within`, or the one asked for.

    Refreshable: a refresh token, and not broken by a refresh (a health-check failure does not
    count: an expired token is exactly what a refresh repairs).
    """
    deadline = now + within
    if integration_id is not None:
        row = store.get_integration(conn, integration_id)
        if row is None:
            raise PermanentError(f"no integration {integration_id}")
        expiring = row.expires_at is not None and row.expires_at <= deadline
        return [row] if _refreshable(row) and (force or expiring) else []
    rows = store.tokens_expiring(conn, within=within, now=now)
    rows += [
        row for row in store.list_integrations(conn, status="broken")
        if _refreshable(row) and row.expires_at is not None and row.expires_at <= deadline
    ]
    return sorted(rows, key=lambda row: (row.expires_at, row.id))


def _refreshable(row: Any) -> bool:
    return bool(row.refresh_token) and (row.status == "ok" or broken_by_health(row))


def refresh_one(
    client: httpx.Client, row: Any, settings: AuthSettings, *,
    env: Mapping[str, str] = os.environ, now: Callable[[], datetime] = store.utcnow,
) -> str:
    """Refresh one integration's token and commit the result; returns the outcome."""
    bound = log.bind(integration_id=row.id, provider=row.provider)
    secret = store.client_secret(row, env)
    if row.client_secret_env and secret is None:
        return _record_failure(row, f"client secret variable {row.client_secret_env} is not set")
    if not row.token_endpoint:
        return _record_failure(row, "the integration has no token endpoint")
    issued = now()  # before the request: the token cannot outlive expires_in from here
    try:
        tokens = request_refresh(
            client, row.token_endpoint, refresh_token=row.refresh_token,
            client_id=row.client_id, client_secret=secret, client_auth=settings.client_auth,
        )
    except GrantError as exc:
        if exc.transient:
            bound.warning("token_refresh_transient", error=str(exc))
            return "transient"
        if exc.code == "invalid_grant":
            return _record_failure(row, str(exc), broken=True)
        return _record_failure(row, str(exc))
    return _store(row, tokens, issued, settings)


def _store(row: Any, tokens: Tokens, issued: datetime, settings: AuthSettings) -> str:
    lifetime = tokens.expires_in if tokens.expires_in is not None else settings.default_expires_in
    expires_at = issued + timedelta(seconds=lifetime)
    with store.transaction() as conn:
        if not _still_current(conn, row):
            return "superseded"
        store.store_tokens(conn, row.id, access_token=tokens.access_token, expires_at=expires_at,
                           refresh_token=tokens.refresh_token)
    log.info("token_refreshed", integration_id=row.id, expires_at=expires_at.isoformat(),
             rotated=tokens.refresh_token is not None)
    return "refreshed"


def _record_failure(row: Any, error: str, *, broken: bool = False) -> str:
    """invalid_grant breaks the integration; other permanent errors are noted on it (status kept,
    so the next scheduled run tries again once the configuration is fixed)."""
    with store.transaction() as conn:
        current = _still_current(conn, row)
        if current is None:
            return "superseded"
        if broken:
            store.set_status(conn, row.id, "broken", error=error)
        elif current.status == "ok":
            store.set_status(conn, row.id, "ok", error=error)
    if broken:
        log.warning("token_refresh_invalid_grant", integration_id=row.id, error=error)
        return "broken"
    log.error("token_refresh_failed", integration_id=row.id, error=error)
    return "failed"


def _still_current(conn: sa.Connection, row: Any) -> Any:
    """The locked row if nobody changed its refresh token since we read it, else None.

    Another run may have refreshed it meanwhile; with rotation our old refresh token is then
    spent, and its invalid_grant must not break an integration that is fine.
    """
    current = store.lock_integration(conn, row.id)
    if current is None or current.refresh_token != row.refresh_token:
        log.info("token_refresh_superseded", integration_id=row.id)
        return None
    return current


def refresh_due(
    client: httpx.Client, settings: AuthSettings, *, integration_id: int | None = None,
    window: timedelta | None = None, force: bool = False, env: Mapping[str, str] = os.environ,
    now: Callable[[], datetime] = store.utcnow,
) -> dict[str, int]:
    """Refresh every due token, each committed on its own (a rotated refresh token must never
    wait on the others); returns a count per outcome."""
    within = settings.refresh_window if window is None else window
    with store.transaction(readonly=True) as conn:
        rows = due_integrations(conn, within=within, now=now(), integration_id=integration_id,
                                force=force)
    log.info("token_refresh_due", count=len(rows), window_seconds=within.total_seconds())
    counts = Counter({outcome: 0 for outcome in OUTCOMES})
    started = time.monotonic()
    for index, row in enumerate(rows):
        if index and time.monotonic() - started > settings.budget:
            counts["deferred"] = len(rows) - index  # left for the retry, inside the time limit
            break
        counts[refresh_one(client, row, settings, env=env, now=now)] += 1
    return {"due": len(rows), **counts}


@shared_task(name="auth.token_refresh", bind=True)
def token_refresh(
    self: Any, integration_id: int | None = None, window: float | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Refresh tokens expiring within `window` seconds (default AIR_AUTH_REFRESH_WINDOW), or just
    `integration_id` (if due, or always with `force`). Transient failures are retried after the
    successes are committed, so a retry redoes only what failed."""
    settings = AuthSettings.from_env()
    within = None if window is None else timedelta(seconds=float(window))
    with httpx.Client(timeout=settings.http_timeout, follow_redirects=False) as client:
        summary = refresh_due(client, settings, integration_id=integration_id, window=within,
                              force=force)
    log.info("token_refresh_done", **summary)
    if summary["transient"] or summary["deferred"]:
        raise TransientError(
            f"{summary['transient']} token refresh(es) failed transiently, "
            f"{summary['deferred']} deferred; {summary['refreshed']} refreshed"
        )
    return summary
