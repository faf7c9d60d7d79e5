"""Cron expressions and time zones: validation and fire times.

`air validate`, `air schedule` and `air beat` all use these functions, so the times beat fires are
exactly the times `air schedule` prints. Daylight-saving rules, as in Vixie cron: a fixed-time job
whose wall-clock time is skipped (spring forward) fires right after the gap; one whose time occurs
twice (fall back) fires once. Jobs with `*` in the hour field follow real elapsed hours.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter
from croniter.croniter import CroniterBadDateError, CroniterError

from runtime.config.errors import UsageError

NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EXPANSIONS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def normalize(expression: str) -> str:
    """Collapse whitespace and expand @nicknames to their five fields."""
    text = " ".join(expression.split())
    return _EXPANSIONS.get(text, text)


@lru_cache(maxsize=1024)  # rules ask about the same expressions many times in one run
def expression_problem(expression: str) -> str | None:
    """Why a cron expression is invalid, or None when it is valid."""
    text = " ".join(expression.split())
    if text.startswith("@"):
        return (
            None if text in NICKNAMES else f"unknown nickname (use one of {', '.join(NICKNAMES)})"
        )
    fields = text.split(" ")
    if len(fields) != 5:
        return f"it has {len(fields)} field{'s' if len(fields) != 1 else ''}; cron needs 5"
    try:
        croniter(text)
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        return str(exc).replace(f"[{text}] ", "") or "not a cron expression"
    return None


NOW_VARIABLE = "AIR_NOW"  # an ISO 8601 instant to count from instead of the clock


def now(env: Mapping[str, str]) -> datetime:
    """The current instant, or AIR_NOW's (reproducible output for docs, tests and CI)."""
    value = env.get(NOW_VARIABLE)
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{NOW_VARIABLE}={value!r} is not an ISO 8601 time",
            hint=f"e.g. {NOW_VARIABLE}=2027-03-27T12:00:00Z, or unset it to use the clock",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def timezone_problem(name: str) -> str | None:
    """A hint when `name` is not an IANA time zone, else None."""
    try:
        zone(name)
        return None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        prefix = f"did you mean '{close[0]}'? " if close else ""
        return prefix + "use an IANA name such as UTC, Europe/Berlin or America/New_York"


def next_fires(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after`, as aware datetimes in `timezone`.

    Raises ValueError when the expression never fires.
    """
    text = normalize(expression)
    tz = zone(timezone)
    fixed_hour = text.split(" ")[1] != "*"
    iterator = croniter(text, after.astimezone(tz))
    fires: list[datetime] = []
    while len(fires) < count:
        try:
            fire = iterator.get_next(datetime)
        except CroniterBadDateError as exc:
            raise ValueError(f"'{expression}' never fires") from exc
        if fixed_hour and _second_pass(fire):
            continue  # the repeated hour after a fall-back change: already fired at this time
        fires.append(fire)
    return fires


def _second_pass(moment: datetime) -> bool:
    """True for the second occurrence of a wall-clock time that a fall-back change repeats
    (every minute of the repeated hour, not only the first one the iterator returns)."""
    first, second = moment.replace(fold=0).utcoffset(), moment.replace(fold=1).utcoffset()
    return (
        first is not None
        and second is not None
        and first > second
        and (moment.utcoffset() == second)
    )


def may_never_fire(expression: str) -> bool:
    """False when the expression certainly fires: only a restricted day-of-month together with
    a restricted month (and any weekday) can name a day that never comes (30 February)."""
    fields = normalize(expression).split(" ")
    return len(fields) == 5 and fields[2] != "*" and fields[3] != "*" and fields[4] == "*"


def gap_floor(expression: str) -> timedelta:
    """A floor under the time between two fires, computed from the daily pattern alone.

    Day, month and weekday fields only remove fires, so they can only lengthen gaps. A
    daylight-saving change can shorten one gap of a fixed-hour job by up to an hour.
    """
    minutes, hours = croniter(normalize(expression)).expanded[:2]
    minute_set = range(60) if minutes == ["*"] else [int(m) for m in minutes]
    hour_set = range(24) if hours == ["*"] else [int(h) for h in hours]
    times = sorted(h * 60 + m for h in hour_set for m in minute_set)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)] + [times[0] + 1440 - times[-1]]
    shift = 0 if hours == ["*"] else 60
    return timedelta(minutes=max(0, min(gaps) - shift))


def shortest_gap(
    expression: str, timezone: str, samples: int = 48, after: datetime | None = None
) -> timedelta | None:
    """The shortest time between consecutive fires over the next `samples` fires; None if it
    never fires. Enough to tell whether runs of a task can overlap."""
    try:
        fires = next_fires(expression, timezone, after or datetime.now(UTC), samples)
    except ValueError:
        return None
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall-clock times, which
    # makes the two 02:00s of a fall-back night look 0 s apart.
    gaps = [b.astimezone(UTC) - a.astimezone(UTC) for a, b in zip(fires, fires[1:], strict=False)]
    return min(gaps) if gaps else timedelta(days=365)


# --- daylight saving ----------------------------------------------------------------------------

DST_HORIZON = timedelta(days=400)  # how far ahead `air validate` looks for affected fires


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of UTC offset: the wall-clock hour it skips (spring) or repeats (autumn)."""

    at: datetime  # the instant of the change, UTC
    kind: str  # "skipped" | "repeated"
    start: datetime  # naive wall-clock window [start, end) that is skipped or repeated
    end: datetime


@dataclass(frozen=True, slots=True)
class DstFire:
    """A cron time that falls in a skipped or repeated window, and what air does instead."""

    kind: str  # "skipped" | "repeated"
    wall: datetime  # the naive wall-clock time the expression names
    fired: datetime  # the one instant air fires for it, aware in the schedule's zone


def transitions(timezone: str, start: datetime, end: datetime) -> list[Transition]:
    """Offset changes of `timezone` between two instants."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = (end - first).days + 1
    return [t for t in _changes(timezone, first, days) if start < t.at <= end]


@lru_cache(maxsize=64)
def _changes(timezone: str, first: datetime, days: int) -> tuple[Transition, ...]:
    """Found a day at a time, then to the second by bisection; cached because every schedule
    of one validation run in the same zone asks for the same days."""
    tz = zone(timezone)
    found: list[Transition] = []
    day = first
    offset = day.astimezone(tz).utcoffset()
    for _ in range(days):
        following = day + timedelta(days=1)
        following_offset = following.astimezone(tz).utcoffset()
        if following_offset != offset:
            found.append(_transition(tz, day, following))
        day, offset = following, following_offset
    return tuple(found)


def _transition(tz: ZoneInfo, before: datetime, after: datetime) -> Transition:
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == before.astimezone(tz).utcoffset():
            before = middle
        else:
            after = middle
    old, new = before.astimezone(tz).utcoffset(), after.astimezone(tz).utcoffset()
    assert old is not None and new is not None
    wall = (after + old).replace(tzinfo=None, microsecond=0)  # the clock just before it changes
    shift = new - old
    if shift > timedelta(0):
        return Transition(after, "skipped", wall, wall + shift)
    return Transition(after, "repeated", wall + shift, wall)


@lru_cache(maxsize=1024)  # one validation run asks once per (expression, zone), all at `now`
def dst_fires(
    expression: str, timezone: str, after: datetime, horizon: timedelta = DST_HORIZON
) -> tuple[DstFire, ...]:
    """The fire times of a fixed-hour expression that daylight saving skips or repeats after
    `after`. Jobs with `*` in the hour field follow elapsed time and are never affected."""
    text = normalize(expression)
    if text.split(" ")[1] == "*":
        return ()
    tz = zone(timezone)
    affected: list[DstFire] = []
    for change in transitions(timezone, after, after + horizon):
        # What beat does is what next_fires says: a skipped time fires at the first fire time
        # after the change (the end of the gap); a repeated one only on its first pass.
        gap_fire = next_fires(text, timezone, change.at - timedelta(seconds=1), 1)[0]
        walls = croniter(text, change.start - timedelta(minutes=1))
        wall = walls.get_next(datetime)
        while wall < change.end:
            fired = gap_fire if change.kind == "skipped" else wall.replace(tzinfo=tz, fold=0)
            affected.append(DstFire(change.kind, wall, fired))
            wall = walls.get_next(datetime)
    return tuple(affected)


def dst_note(expression: str, timezone: str, fire: datetime) -> str | None:
    """Why daylight saving moved or merged this fire time (one of `next_fires`), or None."""
    around = dst_fires(expression, timezone, fire - timedelta(days=1), timedelta(days=2))
    skipped = [f.wall for f in around if f.kind == "skipped" and f.fired == fire]
    if skipped:
        walls = ", ".join(w.strftime("%H:%M") for w in skipped)
        return f"daylight saving skips {walls}: fires here, at the end of the gap"
    if any(f.kind == "repeated" and f.fired.timestamp() == fire.timestamp() for f in around):
        return f"{fire:%H:%M} comes twice today: fires once, on the first pass"
    return None


def next_fire(
    expression: str | None, every: float | None, timezone: str, after: datetime
) -> datetime:
    """The first fire of a cron or `every` schedule strictly after `after`.

    `every` fires fall on whole multiples of the interval since the Unix epoch, so every beat,
    whenever it started, computes the same fire times. Raises ValueError when it never fires.
    """
    if every is not None:
        step = int(every * 1000)
        ms = int(after.timestamp() * 1000)
        return datetime.fromtimestamp((ms // step + 1) * step / 1000, UTC).astimezone(
            zone(timezone)
        )
    assert expression is not None
    return next_fires(expression, timezone, after, 1)[0]


def jitter_delay(name: str, fire: datetime, jitter: float) -> float:
    """Seconds to delay one fire: spread over [0, jitter) by a hash of the schedule and fire
    time, so every beat (and `air schedule`) agrees on it without talking to the others."""
    if jitter <= 0:
        return 0.0
    digest = hashlib.sha256(f"{name}@{int(fire.timestamp() * 1000)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * jitter
