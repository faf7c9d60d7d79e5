"""sync.calendar: pull events from an integration's iCalendar files into meetings.

The source (a path or file:// URL) is one .ics file or a directory searched for *.ics files
(hidden ones skipped). Only files whose modification time or size changed since the cursor
    {"v": 1, "format": "ics", "files": {name: {"mtime_ns", "size", "uids": [...]}}}
are parsed (ics.py); their events are upserted (store.upsert_meeting writes only what changed).
An event that disappeared from its file, was cancelled, or whose file was removed is deleted,
unless another file still holds its UID. A file that is not valid iCalendar is counted and
skipped until it changes again; the meetings it held before stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.contacts.features import user_zone
from tasks.errors import require_integer
from tasks.sync.ics import Event, parse_events
from tasks.sync.settings import SyncSettings
from tasks.sync.source import CursorRun, SourceError, Target, run_sync

log = structlog.get_logger(__name__)

FORMAT = "ics"
COUNTS = ("files", "invalid_files", "events", "changed", "unchanged", "deleted", "recurring",
          "unusable_events")


@dataclass(frozen=True, slots=True)
class File:
    name: str  # relative to the source directory: the key in the cursor
    path: Path
    mtime_ns: int
    size: int


def calendar_files(path: Path) -> list[File]:
    """The .ics files of a source path; SourceError when it is missing or unreadable."""
    try:
        if path.is_file():
            paths, root = [path], path.parent
        elif path.is_dir():
            root = path
            paths = [p for p in sorted(path.rglob("*.ics")) if p.is_file()
                     and not any(part.startswith(".") for part in p.relative_to(path).parts)]
        else:
            raise SourceError(f"source {path} does not exist")
        files = []
        for item in paths:
            stat = item.stat()
            files.append(File(item.relative_to(root).as_posix(), item, stat.st_mtime_ns,
                              stat.st_size))
        return files
    except OSError as exc:
        raise SourceError(f"source {path} is not readable: {exc.strerror or exc}") from exc


def _uids(state: dict[str, Any]) -> set[str]:
    return {uid for entry in state.values() for uid in entry["uids"]}


def read_file(file: File, zone: tzinfo, counts: dict[str, int]) -> list[Event] | None:
    """The file's events; None when it is not iCalendar. A vanished file reads as empty."""
    try:
        data = file.path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SourceError(f"{file.path} is not readable: {exc.strerror or exc}") from exc
    try:
        events, unusable = parse_events(data, zone)
    except ValueError as exc:
        counts["invalid_files"] += 1
        log.warning("calendar_file_invalid", path=str(file.path), error=str(exc))
        return None
    counts["unusable_events"] += unusable
    return events


def store_events(
    conn: sa.Connection, target: Target, events: Iterable[Event], counts: dict[str, int]
) -> set[str]:
    """Upsert the live events in this transaction; returns the UIDs of the cancelled ones."""
    cancelled: set[str] = set()
    for event in events:
        counts["events"] += 1
        if event.cancelled:
            cancelled.add(event.uid)
            continue
        counts["recurring"] += event.recurring
        _, changed = store.upsert_meeting(
            conn, user_id=target.user_id, integration_id=target.integration.id, uid=event.uid,
            starts_at=event.starts_at, ends_at=event.ends_at, title=event.title,
            location=event.location, description=event.description, attendees=event.attendees)
        counts["changed" if changed else "unchanged"] += 1
    return cancelled


def _delete(conn: sa.Connection, integration_id: int, uids: set[str],
            counts: dict[str, int]) -> None:
    for uid in sorted(uids):
        counts["deleted"] += store.delete_meeting(conn, integration_id=integration_id, uid=uid)


class CalendarRun(CursorRun):
    """One sync: the cursor state (file -> mtime, size, UIDs) and the files to read again."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.zone = user_zone(target.user_timezone)
        self.files = calendar_files(self.path)
        self.state: dict[str, Any] = dict((self.stored_cursor(FORMAT) or {}).get("files", {}))
        self.todo = self.changed(self.files)
        self.started: dict[str, Any] = {"files": len(self.files), "changed": len(self.todo)}
        self.summary: dict[str, Any] = {}

    def changed(self, files: list[File]) -> list[File]:
        return [f for f in files if (self.state.get(f.name) or {}).get("mtime_ns") != f.mtime_ns
                or self.state[f.name].get("size") != f.size]

    def cursor(self) -> dict[str, Any]:
        return {"v": 1, "format": FORMAT, "files": dict(sorted(self.state.items()))}

    def batch(self, files: Sequence[File]) -> dict[str, int]:
        """Read, then store in one transaction, a batch of changed files with the cursor."""
        done = dict.fromkeys(COUNTS, 0)
        parsed = [(f, read_file(f, self.zone, done)) for f in files]
        before = {uid for f in files for uid in self.state.get(f.name, {}).get("uids", [])}
        for file, events in parsed:  # an invalid file keeps the UIDs it had
            uids = (self.state.get(file.name, {}).get("uids", []) if events is None
                    else sorted({e.uid for e in events if not e.cancelled}))
            self.state[file.name] = {"mtime_ns": file.mtime_ns, "size": file.size, "uids": uids}
        with self.commit(self.cursor()) as conn:
            cancelled: set[str] = set()
            for _, events in parsed:
                cancelled |= store_events(conn, self.target, events or [], done)
            _delete(conn, self.id, (before | cancelled) - _uids(self.state), done)
        done["files"] = len(files)
        return done

    def finish(self) -> dict[str, int]:
        """Forget removed files (deleting their events) and lift a break this sync set."""
        done = dict.fromkeys(COUNTS, 0)
        present = {f.name for f in self.files}
        gone = {uid for name, entry in self.state.items() if name not in present
                for uid in entry["uids"]}
        self.state = {name: entry for name, entry in self.state.items() if name in present}
        with self.commit(self.cursor(), last=True) as conn:
            _delete(conn, self.id, gone - _uids(self.state), done)
        return done


def sync_calendar(
    integration_id: int, settings: SyncSettings,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Import the changed calendar files batch by batch, each batch with its cursor."""
    return run_sync(integration_id, "calendar", COUNTS, CalendarRun, settings.batch_size, progress)


@shared_task(name="sync.calendar", bind=True)
def calendar(self: Any, integration_id: int) -> dict[str, Any]:
    """Pull the integration's changed calendar files into meetings. Returns {integration_id,
    superseded, files, invalid_files, events, changed, unchanged, deleted, recurring,
    unusable_events}."""
    require_integer("integration_id", integration_id)
    return sync_calendar(integration_id, SyncSettings.from_env(), progress=self.progress)
