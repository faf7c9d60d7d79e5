"""data.cleanup: delete what is older than its retention window; windows from the task kwargs.

Windows (kwarg `windows`, each a duration such as "30d", or null to keep that kind forever):

| kind               | default | what goes                                                    |
|--------------------|---------|--------------------------------------------------------------|
| oauth_states       | 1d      | OAuth states expired longer ago than the window              |
| health_checks      | 30d     | integration health check results                             |
| notifications      | 90d     | notifications created before the window, whatever their state |
| alerts             | 180d    | alerts with their per-channel delivery status                |
| exports            | 30d     | export records, and export directories nothing refers to     |
| interaction_bodies | 365d    | the body of old interactions (the interaction itself stays)  |

A notification or alert de-duplicated "once, ever" can be sent again once its row is gone; the
windows are far longer than any de-duplication window. All row deletions commit in one
transaction; export directories are removed after it commits (so a failed commit never loses
files a record still points at), and a directory under AIR_EXPORT_DIR that no record refers to
and that is older than the exports window goes too, which also sweeps up what a crashed run left.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from runtime.config.units import parse_duration
from tasks import store
from tasks.data.settings import DataSettings
from tasks.data.transient import transient_database
from tasks.errors import PermanentError

log = structlog.get_logger(__name__)

DEFAULT_WINDOWS: dict[str, str] = {
    "oauth_states": "1d",
    "health_checks": "30d",
    "notifications": "90d",
    "alerts": "180d",
    "exports": "30d",
    "interaction_bodies": "365d",
}
_TABLES = ("oauth_states", "health_checks", "notifications", "alerts", "exports")


def parse_windows(overrides: Mapping[str, Any] | None) -> dict[str, timedelta | None]:
    """The defaults with `overrides` applied; None keeps a kind forever."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(DEFAULT_WINDOWS)
    if unknown:
        raise PermanentError(f"unknown retention kinds {sorted(unknown)}; known: "
                             f"{sorted(DEFAULT_WINDOWS)}")
    windows: dict[str, timedelta | None] = {}
    for kind, default in DEFAULT_WINDOWS.items():
        raw = overrides.get(kind, default)
        try:
            windows[kind] = None if raw is None else parse_duration(raw)
        except ValueError as exc:
            raise PermanentError(f"retention window for {kind}: {exc}") from None
    return windows


def delete_rows(
    conn: sa.Connection, windows: Mapping[str, timedelta | None], now: datetime
) -> dict[str, int]:
    """Delete every kind's rows past its window; returns how many per kind."""
    counts: dict[str, int] = {}
    for kind in _TABLES:
        window = windows[kind]
        counts[kind] = 0 if window is None else store.purge_older_than(conn, kind, now - window)
    window = windows["interaction_bodies"]
    counts["interaction_bodies"] = (
        0 if window is None else store.clear_bodies(conn, before=now - window))
    return counts


def sweep_export_dirs(
    root: Path, referenced: set[Path], *, older_than: timedelta, now: float | None = None
) -> int:
    """Remove export directories under `root` (user-*/<digest> and leftover .tmp-*) that no
    record refers to and that were last modified before `older_than`; returns how many."""
    cutoff = (now if now is not None else time.time()) - older_than.total_seconds()
    removed = 0
    for directory in sorted(root.glob("user-*/*")):
        if not directory.is_dir() or directory.resolve() in referenced:
            continue
        if directory.stat().st_mtime < cutoff:
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
            log.info("export_directory_removed", directory=str(directory))
    return removed


def run_cleanup(
    windows: Mapping[str, timedelta | None], *, export_root: Path, now: datetime | None = None
) -> dict[str, int]:
    now = now or store.utcnow()
    with transient_database(), store.transaction() as conn:
        counts = delete_rows(conn, windows, now)
        referenced = {Path(path).resolve().parent
                      for row in store.list_exports(conn) for path in row.paths}
    log.info("retention_rows_deleted", **counts)
    window = windows["exports"]
    counts["export_dirs"] = 0
    if window is not None and export_root.is_dir():
        counts["export_dirs"] = sweep_export_dirs(export_root, referenced, older_than=window,
                                                  now=now.timestamp())
    return counts


@shared_task(name="data.cleanup", bind=True)
def cleanup(self: Any, windows: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Delete data past its retention window (see the module's table for kinds and defaults).
    Returns {kind: rows deleted (bodies cleared)} plus export_dirs: directories removed."""
    if windows is not None and not isinstance(windows, Mapping):
        raise PermanentError(f"windows must be a mapping of kind to duration, not {windows!r}")
    return run_cleanup(parse_windows(windows), export_root=DataSettings.from_env().export_dir)
