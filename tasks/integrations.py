"""integrations.health_check: probe each integration's token and source; alert on a new failure."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.errors import PermanentError
from tasks.notify.settings import NotifySettings

log = structlog.get_logger(__name__)

# The status an integration gets from this check carries this prefix in last_error, so the
# check can tell its own verdicts (which it lifts when the probes pass again) from a break set
# elsewhere, such as a token refresh's invalid_grant (which needs a person to re-authorise).
HEALTH_PREFIX = "health check: "
ALERT_TASK = "notify.critical_alert"


def broken_by_health(row: Any) -> bool:
    return row.status == "broken" and (row.last_error or "").startswith(HEALTH_PREFIX)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthSettings:
    """Health check settings, read from AIR_INTEGRATIONS_* environment variables."""

    probe_timeout: float = 5.0  # AIR_INTEGRATIONS_PROBE_TIMEOUT: seconds per HTTP probe
    alert_window: timedelta = timedelta(hours=1)  # AIR_INTEGRATIONS_ALERT_WINDOW, seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HealthSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults
        timeout = env.get("AIR_INTEGRATIONS_PROBE_TIMEOUT", "").strip()
        window = env.get("AIR_INTEGRATIONS_ALERT_WINDOW", "").strip()
        return cls(
            probe_timeout=float(timeout) if timeout else base.probe_timeout,
            alert_window=timedelta(seconds=float(window)) if window else base.alert_window,
        )


def token_problem(row: Any, now: datetime) -> str | None:
    """Why the integration's token is unusable, or None. Local sources have no token."""
    if row.status == "broken" and not broken_by_health(row):
        return f"broken: {row.last_error or 'no reason recorded'}"
    if not (row.token_endpoint or row.refresh_token or row.access_token):
        return None
    if not row.access_token:
        return "no access token"
    if row.expires_at is not None and row.expires_at <= now:
        return f"access token expired at {row.expires_at.isoformat()}"
    return None


def source_problem(row: Any, client: httpx.Client) -> str | None:
    """Why the integration's source cannot be reached, or None (also for sources we cannot
    probe, such as imap:// URLs: no news is no alarm)."""
    if not row.source:
        return None
    parts = urlsplit(row.source)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return _probe_http(client, row.source)
    if scheme == "file":
        return _probe_path(Path(unquote(parts.path)), row.provider)
    if scheme == "" or len(scheme) == 1:  # a plain path (one letter: a Windows drive)
        return _probe_path(Path(row.source).expanduser(), row.provider)
    return None


def _probe_http(client: httpx.Client, url: str) -> str | None:
    try:
        status = client.head(url).status_code
        if status in (405, 501):  # HEAD not supported: ask with GET, without reading the body
            with client.stream("GET", url) as response:
                status = response.status_code
    except httpx.TransportError as exc:
        return f"source {url} unreachable: {type(exc).__name__}: {exc}"
    return f"source {url} answered HTTP {status}" if status >= 500 else None


def _probe_path(path: Path, provider: str) -> str | None:
    try:
        if path.is_dir():
            if provider == "maildir":
                missing = [name for name in ("cur", "new") if not (path / name).is_dir()]
                if missing:
                    return f"source {path} is not a Maildir (no {', '.join(missing)}/)"
            with os.scandir(path) as entries:
                next(entries, None)
        elif path.exists():
            with path.open("rb") as stream:
                stream.read(1)
        else:
            return f"source {path} does not exist"
    except OSError as exc:
        return f"source {path} is not readable: {exc.strerror or exc}"
    return None


def record_checks(
    conn: sa.Connection, sources: Mapping[int, str | None], *, now: datetime,
    settings: HealthSettings, channels: tuple[str, ...],
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Record one check per integration, update statuses, and raise an alert for each NEW
    failure (the last check was ok, or there was none); returns counts and the alerts raised."""
    counts = {"checked": 0, "ok": 0, "failing": 0, "new_failures": 0}
    alerts: list[dict[str, Any]] = []
    for integration_id, source_issue in sources.items():
        row = store.lock_integration(conn, integration_id)
        if row is None:  # deleted while we probed
            continue
        problem = "; ".join(p for p in (token_problem(row, now), source_issue) if p) or None
        previous = store.latest_health_check(conn, integration_id)
        store.record_health_check(conn, integration_id, status="broken" if problem else "ok",
                                  detail=problem, checked_at=now)
        counts["checked"] += 1
        counts["failing" if problem else "ok"] += 1
        _update_status(conn, row, problem)
        was_ok = previous.status == "ok" if previous else not broken_by_health(row)
        if problem and was_ok:
            counts["new_failures"] += 1
            log.warning("integration_failing", integration_id=integration_id, problem=problem)
            alert = _raise_alert(conn, row, problem, now=now, settings=settings,
                                 channels=channels)
            if alert is not None:
                alerts.append(alert)
    return counts, alerts


def _update_status(conn: sa.Connection, row: Any, problem: str | None) -> None:
    """Break a healthy integration, lift this check's own break; leave other breaks alone."""
    if problem and (row.status == "ok" or broken_by_health(row)):
        store.set_status(conn, row.id, "broken", error=HEALTH_PREFIX + problem)
    elif not problem and broken_by_health(row):
        store.set_status(conn, row.id, "ok")
        log.info("integration_recovered", integration_id=row.id)


def _raise_alert(
    conn: sa.Connection, row: Any, problem: str, *, now: datetime, settings: HealthSettings,
    channels: tuple[str, ...],
) -> dict[str, Any] | None:
    """Raise the alert in this transaction; returns the notify.critical_alert kwargs that
    deliver it, or None when the integration already alerted within the window."""
    alert = {"severity": "critical", "dedup_key": f"integration:{row.id}:health",
             "title": f"Integration {row.id} ({row.provider} {row.kind}) is failing",
             "body": problem}
    raised = store.raise_alert(conn, **alert, channels=channels, window=settings.alert_window,
                               now=now)
    if raised is None:
        return None
    return {**alert, "channels": list(channels), "window": settings.alert_window.total_seconds()}


def check_integrations(
    client: httpx.Client, settings: HealthSettings, *, channels: tuple[str, ...],
    integration_id: int | None = None, now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Probe the sources outside any transaction, then record every verdict in one."""
    with store.transaction(readonly=True) as conn:
        if integration_id is None:
            rows = store.list_integrations(conn)
        else:
            row = store.get_integration(conn, integration_id)
            if row is None:
                raise PermanentError(f"no integration {integration_id}")
            rows = [row]
    sources: dict[int, str | None] = {}
    for done, row in enumerate(rows, 1):
        sources[row.id] = source_problem(row, client)
        if progress is not None:
            progress(done, len(rows))
    with store.transaction() as conn:
        return record_checks(conn, sources, now=now or store.utcnow(), settings=settings,
                             channels=channels)


@shared_task(name="integrations.health_check", bind=True)
def health_check(self: Any, integration_id: int | None = None) -> dict[str, int]:
    """Probe every integration (or one): token valid and source reachable. Records a check per
    integration, updates its status, and sends notify.critical_alert for each new failure."""
    settings = HealthSettings.from_env()
    with httpx.Client(timeout=settings.probe_timeout, follow_redirects=True) as client:
        counts, alerts = check_integrations(
            client, settings, channels=NotifySettings.from_env().channels,
            integration_id=integration_id, progress=self.progress,
        )
    sent = 0
    for alert in alerts:  # after the commit, so the alert task finds the alert it delivers
        try:
            self.app.send_task(ALERT_TASK, kwargs=alert)
            sent += 1
        except Exception as exc:  # the alert stays pending in the store; the checks are recorded
            log.error("alert_enqueue_failed", dedup_key=alert["dedup_key"], error=str(exc))
    log.info("health_check_done", alerts=sent, **counts)
    return {**counts, "alerts": sent}
