"""sync.calendar: .ics files into meetings (TZID, UTC, floating and all-day times), only changed
files re-read, changed events updated, dropped ones deleted; broken sources and outages."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tasks import store
from tasks.errors import PermanentError
from tasks.sync.calendar import sync_calendar
from tasks.sync.settings import SyncSettings
from tasks.sync.source import SYNC_PREFIX
from tests.tasks.dataops import database_rows, dead_letter, unreachable_database
from tests.tasks.syncfixtures import add_integration, integration, owner, vevent, write_ics

__all__ = ["owner"]  # fixture

SETTINGS = SyncSettings(batch_size=1)
STAMP = datetime(2024, 7, 1, tzinfo=UTC).timestamp()

BERLIN = vevent("planning@cal", "DTSTART;TZID=Europe/Berlin:20240710T090000",
                "DTEND;TZID=Europe/Berlin:20240710T103000", "SUMMARY:Planning\\, Q3",
                "LOCATION:Room 1", "DESCRIPTION:Agenda:\\nroadmap",
                "ORGANIZER:mailto:owner@example.com",
                "ATTENDEE;CN=Ann:MAILTO:Ann@Acme.example", "ATTENDEE:mailto:bob@globex.example")
ALL_DAY = vevent("offsite@cal", "DTSTART;VALUE=DATE:20240712", "DTEND;VALUE=DATE:20240714",
                 "SUMMARY:Offsite")
WEEKLY = vevent("standup@cal", "DTSTART:20240708T080000Z", "DURATION:PT15M",
                "RRULE:FREQ=WEEKLY;BYDAY=MO", "SUMMARY:Standup")
MOVED_ONCE = vevent("standup@cal", "RECURRENCE-ID:20240715T080000Z",
                    "DTSTART:20240716T080000Z", "DURATION:PT15M", "SUMMARY:Standup (moved)")
FLOATING = vevent("lunch@cal", "DTSTART:20240711T120000", "DTEND:20240711T130000",
                  "SUMMARY:Lunch")
CUSTOM_ZONE = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:Office Time", "BEGIN:STANDARD", "DTSTART:19700101T000000",
    "TZOFFSETFROM:-0500", "TZOFFSETTO:-0500", "END:STANDARD", "END:VTIMEZONE"])
OFFICE = vevent("office@cal", "DTSTART;TZID=Office Time:20240711T090000",
                "DTEND;TZID=Office Time:20240711T100000", "SUMMARY:Office hours")


def meetings() -> dict[str, Any]:
    with store.transaction(readonly=True) as conn:
        return {row.uid: row for row in store.list_meetings(conn)}


@pytest.fixture
def calendar_dir(tmp_path: Path) -> Path:
    root = tmp_path / "calendar"
    write_ics(root / "work.ics", BERLIN, WEEKLY, MOVED_ONCE, mtime=STAMP)
    write_ics(root / "personal" / "offsite.ics", ALL_DAY, FLOATING, mtime=STAMP)
    write_ics(root / "office.ics", OFFICE, extra=CUSTOM_ZONE, mtime=STAMP)
    write_ics(root / ".hidden.ics", vevent("hidden@cal", "DTSTART:20240701T000000Z"))
    (root / "notes.txt").write_text("not a calendar")
    return root


@pytest.fixture
def user_in_tokyo(owner: int) -> int:
    with store.transaction() as conn:
        conn.execute(sa.text("UPDATE users SET timezone = 'Asia/Tokyo' WHERE id = :id"),
                     {"id": owner})
    return owner


def test_events_are_imported_with_utc_times_then_nothing_changes(
    user_in_tokyo: int, calendar_dir: Path
) -> None:
    integration_id = add_integration(user_in_tokyo, "calendar", "ics", str(calendar_dir))
    seen: list[tuple[int, int]] = []
    summary = sync_calendar(integration_id, SETTINGS, progress=lambda d, t: seen.append((d, t)))
    assert summary == {"integration_id": integration_id, "superseded": False, "files": 3,
                       "invalid_files": 0, "events": 5, "changed": 5, "unchanged": 0,
                       "deleted": 0, "recurring": 1, "unusable_events": 0}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    found = meetings()
    assert sorted(found) == ["lunch@cal", "office@cal", "offsite@cal", "planning@cal",
                             "standup@cal"]
    planning = found["planning@cal"]
    assert (planning.starts_at, planning.ends_at) == (datetime(2024, 7, 10, 7, 0, tzinfo=UTC),
                                                      datetime(2024, 7, 10, 8, 30, tzinfo=UTC))
    assert (planning.title, planning.location, planning.description) == (
        "Planning, Q3", "Room 1", "Agenda:\nroadmap")
    assert planning.attendees == ["ann@acme.example", "bob@globex.example"]
    offsite = found["offsite@cal"]
    assert (offsite.starts_at, offsite.ends_at) == (datetime(2024, 7, 12, tzinfo=UTC),
                                                    datetime(2024, 7, 14, tzinfo=UTC))
    standup = found["standup@cal"]  # the master only; the moved occurrence is ignored
    assert (standup.starts_at, standup.title) == (datetime(2024, 7, 8, 8, 0, tzinfo=UTC),
                                                  "Standup")
    assert standup.ends_at - standup.starts_at == timedelta(minutes=15)
    assert found["lunch@cal"].starts_at == datetime(2024, 7, 11, 3, 0, tzinfo=UTC)  # Tokyo noon
    assert found["office@cal"].starts_at == datetime(2024, 7, 11, 14, 0, tzinfo=UTC)  # VTIMEZONE
    cursor = json.loads(integration(integration_id).sync_cursor)
    assert sorted(cursor["files"]) == ["office.ics", "personal/offsite.ics", "work.ics"]
    before = database_rows()
    again = sync_calendar(integration_id, SETTINGS)
    assert (again["files"], again["events"]) == (0, 0)
    assert database_rows() == before


def test_a_changed_file_updates_its_events_and_drops_removed_ones(
    owner: int, calendar_dir: Path
) -> None:
    integration_id = add_integration(owner, "calendar", "ics", f"file://{calendar_dir}")
    sync_calendar(integration_id, SETTINGS)
    moved = vevent("planning@cal", "DTSTART;TZID=Europe/Berlin:20240711T140000",
                   "DTEND;TZID=Europe/Berlin:20240711T150000", "SUMMARY:Planning (moved)")
    write_ics(calendar_dir / "work.ics", moved, mtime=STAMP + 60)  # the standup is gone
    cancelled = vevent("lunch@cal", "DTSTART:20240711T120000", "STATUS:CANCELLED")
    write_ics(calendar_dir / "personal" / "offsite.ics", ALL_DAY, cancelled, mtime=STAMP + 60)
    (calendar_dir / "office.ics").unlink()
    summary = sync_calendar(integration_id, SETTINGS)
    assert (summary["files"], summary["changed"], summary["unchanged"], summary["deleted"]) == (
        2, 1, 1, 3)
    found = meetings()
    assert sorted(found) == ["offsite@cal", "planning@cal"]
    assert (found["planning@cal"].starts_at, found["planning@cal"].title) == (
        datetime(2024, 7, 11, 12, 0, tzinfo=UTC), "Planning (moved)")
    assert sorted(json.loads(integration(integration_id).sync_cursor)["files"]) == [
        "personal/offsite.ics", "work.ics"]
    before = database_rows()
    assert sync_calendar(integration_id, SETTINGS)["files"] == 0
    assert database_rows() == before


def test_an_event_moving_to_another_file_is_kept(owner: int, tmp_path: Path) -> None:
    root = tmp_path / "cal"
    write_ics(root / "a.ics", ALL_DAY, mtime=STAMP)
    integration_id = add_integration(owner, "calendar", "ics", str(root))
    sync_calendar(integration_id, SETTINGS)
    (root / "a.ics").unlink()
    write_ics(root / "b.ics", ALL_DAY, mtime=STAMP)
    summary = sync_calendar(integration_id, SETTINGS)
    assert (summary["deleted"], summary["unchanged"]) == (0, 1)
    assert list(meetings()) == ["offsite@cal"]


def test_a_single_file_and_an_invalid_one(owner: int, tmp_path: Path) -> None:
    good = write_ics(tmp_path / "one.ics", ALL_DAY, vevent("nostart@cal", "SUMMARY:No start"))
    integration_id = add_integration(owner, "calendar", "ics", str(good))
    summary = sync_calendar(integration_id, SETTINGS)
    assert (summary["events"], summary["unusable_events"]) == (1, 1)
    bad = tmp_path / "bad.ics"
    bad.write_text("this is not iCalendar")
    bad_id = add_integration(owner, "calendar", "ics", str(bad))
    summary = sync_calendar(bad_id, SETTINGS)
    assert (summary["files"], summary["invalid_files"], summary["events"]) == (1, 1, 0)
    assert sync_calendar(bad_id, SETTINGS)["files"] == 0  # not re-read until it changes
    assert integration(bad_id).status == "ok"


def test_a_missing_source_breaks_the_integration_until_it_is_back(
    owner: int, tmp_path: Path
) -> None:
    root = tmp_path / "calendar"
    integration_id = add_integration(owner, "calendar", "ics", str(root))
    with pytest.raises(PermanentError, match="does not exist"):
        sync_calendar(integration_id, SETTINGS)
    row = integration(integration_id)
    assert (row.status, row.last_error) == ("broken", f"{SYNC_PREFIX}source {root} does not exist")
    write_ics(root / "a.ics", ALL_DAY)
    assert sync_calendar(integration_id, SETTINGS)["changed"] == 1
    assert integration(integration_id).status == "ok"


def test_the_task_imports_through_the_policy(
    air_app: Any, owner: int, calendar_dir: Path
) -> None:
    integration_id = add_integration(owner, "calendar", "ics", str(calendar_dir))
    result = air_app.tasks["sync.calendar"].apply(kwargs={"integration_id": integration_id})
    assert result.successful(), result.traceback
    assert result.result["changed"] == 5


def test_a_vanished_source_fails_permanently_without_retry(
    air_app: Any, owner: int, calendar_dir: Path, redis_url: str
) -> None:
    integration_id = add_integration(owner, "calendar", "ics", str(calendar_dir))
    assert air_app.tasks["sync.calendar"].apply(kwargs={"integration_id": integration_id}
                                                ).successful()
    shutil.rmtree(calendar_dir)
    result = air_app.tasks["sync.calendar"].apply(kwargs={"integration_id": integration_id})
    letter = dead_letter(redis_url, result.id)
    assert (letter.exception, letter.retries) == ("PermanentError", 0)
    assert integration(integration_id).status == "broken"
    assert len(meetings()) == 5  # a vanished source deletes nothing


def test_an_unreachable_database_is_retried_then_dead_lettered(
    air_app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch, db: sa.Engine
) -> None:
    unreachable_database(monkeypatch)
    result = air_app.tasks["sync.calendar"].apply(kwargs={"integration_id": 1})
    letter = dead_letter(redis_url, result.id)
    assert (letter.task, letter.exception, letter.retries) == (
        "sync.calendar", "TransientError", 5)
