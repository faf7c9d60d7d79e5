"""VEVENTs of an iCalendar (.ics) file as meetings: UTC times, text fields, attendee emails.

Times: a DTSTART/DTEND with a TZID (IANA, a VTIMEZONE in the file, or a Windows name, all
resolved by the icalendar package) or in UTC is converted to aware UTC; a floating time (no
zone, or a TZID nobody defines) is read in the user's time zone; an all-day event (DATE values)
spans UTC midnights, DTEND exclusive (one day when DTEND is missing). No DTEND: the DURATION,
else zero length. Recurring events are stored as their master occurrence only (DTSTART of the
series, RRULE not expanded), and RECURRENCE-ID overrides of single occurrences are ignored: the
recurring-ical-events package that expands series is not a dependency. A cancelled event
(STATUS:CANCELLED) is reported as such, for the sync to delete it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from icalendar import Calendar

from tasks import store
from tasks.sync.message import MAX_SOURCE_ID, clean_text


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    starts_at: datetime
    ends_at: datetime
    title: str | None
    location: str | None
    description: str | None
    attendees: tuple[str, ...]  # normalised emails, in file order
    cancelled: bool = False
    recurring: bool = False


def as_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """An iCalendar DATE or DATE-TIME as aware UTC (floating times in `zone`)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _attendees(component: Any) -> tuple[str, ...]:
    values = component.get("ATTENDEE")
    if values is None:
        return ()
    found: dict[str, None] = {}
    for value in values if isinstance(values, list) else [values]:
        email = store.normalize_email(str(value))
        if email:
            found.setdefault(email)
    return tuple(found)


def _uid(component: Any) -> str:
    """The UID; an event without one is known by a hash of its text (stable while unedited)."""
    uid = clean_text(component.get("UID"))
    if uid and len(uid) <= MAX_SOURCE_ID:
        return uid
    return "sha256:" + hashlib.sha256(component.to_ical()).hexdigest()


def to_event(component: Any, zone: tzinfo) -> Event:
    """One VEVENT; ValueError when it has no usable DTSTART."""
    starts_at = as_utc(component.start, zone)
    ends_at = max(starts_at, as_utc(component.end, zone))
    status = str(component.get("STATUS") or "").strip().upper()
    return Event(
        uid=_uid(component),
        starts_at=starts_at,
        ends_at=ends_at,
        title=clean_text(component.get("SUMMARY")),
        location=clean_text(component.get("LOCATION")),
        description=clean_text(component.get("DESCRIPTION")),
        attendees=_attendees(component),
        cancelled=status == "CANCELLED",
        recurring=component.get("RRULE") is not None or component.get("RDATE") is not None,
    )


def parse_events(data: bytes, zone: tzinfo) -> tuple[list[Event], int]:
    """(the file's events, one per UID, first wins; how many VEVENTs were unusable).

    ValueError when the file is not iCalendar at all.
    """
    events: dict[str, Event] = {}
    unusable = 0
    for calendar in Calendar.from_ical(data, multiple=True):
        for component in calendar.walk("VEVENT"):
            if component.get("RECURRENCE-ID") is not None:
                continue  # an override of one occurrence: the master stands for the series
            try:
                event = to_event(component, zone)
            except ValueError:  # icalendar's IncompleteComponent, BrokenCalendarProperty...
                unusable += 1
                continue
            events.setdefault(event.uid, event)
    return list(events.values()), unusable
