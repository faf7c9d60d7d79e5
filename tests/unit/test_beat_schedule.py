"""Beat's schedules with a fixed clock: due times, per-entry time zones, daylight-saving changes
(beat fires exactly when `air schedule` says), naive times as UTC, equality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from runtime.celeryapp import beat
from runtime.celeryapp.beat import CronSchedule, EverySchedule
from runtime.compiler.compile import load_plan
from runtime.config import cron


class FixedCron(CronSchedule):
    """A cron schedule whose clock reads `moment`."""

    def __init__(self, expression: str, timezone: str, moment: datetime) -> None:
        super().__init__(expression, timezone)
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


class FixedEvery(EverySchedule):
    def __init__(self, seconds: float, moment: datetime) -> None:
        super().__init__(seconds)
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


# --- cron: due and remaining ---------------------------------------------------------------------


def test_cron_is_due_once_its_next_fire_after_the_last_run_has_passed() -> None:
    schedule = FixedCron("*/5 * * * *", "UTC", utc(2025, 1, 15, 12, 7, 30))

    assert schedule.is_due(utc(2025, 1, 15, 12, 0)) == (True, 150.0)  # 12:05 passed; next 12:10
    assert schedule.is_due(utc(2025, 1, 15, 12, 5, 0, 200000)) == (False, 150.0)
    assert schedule.remaining_estimate(utc(2025, 1, 15, 12, 5, 1)) == timedelta(seconds=150)


def test_cron_is_due_exactly_at_its_fire_time() -> None:
    at_fire = FixedCron("*/5 * * * *", "UTC", utc(2025, 1, 15, 12, 10))
    just_before = FixedCron("*/5 * * * *", "UTC", utc(2025, 1, 15, 12, 9, 59, 500000))

    assert at_fire.is_due(utc(2025, 1, 15, 12, 5, 0, 300000)) == (True, 300.0)
    assert just_before.is_due(utc(2025, 1, 15, 12, 5, 0, 300000)) == (False, 0.5)


def test_cron_remaining_estimate_is_negative_when_overdue() -> None:
    schedule = FixedCron("0 * * * *", "UTC", utc(2025, 1, 15, 14, 30))

    assert schedule.remaining_estimate(utc(2025, 1, 15, 12, 10)) == timedelta(minutes=-90)


@pytest.mark.parametrize(
    ("day", "fire_utc"),
    [
        ((2025, 1, 15), (8, 0)),  # CET, UTC+1
        ((2025, 7, 15), (7, 0)),  # CEST, UTC+2
    ],
)
def test_cron_time_zone_is_the_entrys_own(
    day: tuple[int, int, int], fire_utc: tuple[int, int]
) -> None:
    fire = utc(*day, *fire_utc)
    previous_day = fire - timedelta(days=1)

    assert FixedCron("0 9 * * *", "Europe/Berlin", fire).is_due(previous_day) == (True, 86400.0)
    before = FixedCron("0 9 * * *", "Europe/Berlin", fire - timedelta(seconds=1))
    assert before.is_due(previous_day) == (False, 1.0)
    # The same expression in UTC fires an hour or two later.
    assert FixedCron("0 9 * * *", "UTC", fire).is_due(fire - timedelta(minutes=1))[0] is False
    assert before.next_after(previous_day) == fire
    assert (
        before.next_after(previous_day).utcoffset()
        == fire.astimezone(ZoneInfo("Europe/Berlin")).utcoffset()
    )


def test_a_naive_last_run_is_utc() -> None:
    now = utc(2025, 1, 15, 8, 0, 30)
    naive, aware = datetime(2025, 1, 15, 7, 59, 40), utc(2025, 1, 15, 7, 59, 40)
    berlin = FixedCron("0 9 * * *", "Europe/Berlin", now)  # 09:00 CET is 08:00 UTC
    every = FixedEvery(80, now)

    assert berlin.is_due(naive) == berlin.is_due(aware) == (True, 86370.0)
    assert berlin.remaining_estimate(naive) == berlin.remaining_estimate(aware)
    assert every.is_due(naive) == every.is_due(aware) == (False, 30.0)
    assert every.remaining_estimate(naive) == timedelta(seconds=30)


# --- daylight saving: beat fires exactly when `air schedule` says --------------------------------


def simulate_beat(
    expression: str,
    timezone: str,
    start: datetime,
    count: int,
    late: float = 0.0,
    max_sleep: float = 3 * 3600.0,
) -> list[datetime]:
    """Beat's loop with a fake clock: ask is_due, send when due, sleep what it says (at most
    `max_sleep`, and wake `late` seconds after that). Returns the send times."""
    clock, last_run, sent = start, start, []
    while len(sent) < count:
        due, wait = FixedCron(expression, timezone, clock).is_due(last_run)
        if due:
            sent.append(clock)
            last_run = clock  # Celery's reserve(): last_run_at = the schedule's now()
        clock += timedelta(seconds=min(wait, max_sleep) + late)
        assert clock < start + timedelta(days=100), "beat stopped firing"
    return sent


DST_CASES = [
    # spring forward: 09:00 stays 09:00 local, 08:00 UTC then 07:00 UTC
    ("0 9 * * *", "Europe/Berlin", utc(2025, 3, 28, 12)),
    # spring forward: 02:30 does not exist on 30 March; fires once, right after the gap
    ("30 2 * * *", "Europe/Berlin", utc(2025, 3, 28, 12)),
    # fall back: 02:30 happens twice on 26 October; fires once
    ("30 2 * * *", "Europe/Berlin", utc(2025, 10, 24, 12)),
    ("*/20 1 * * *", "America/New_York", utc(2025, 11, 1, 12)),
    ("0 */6 * * *", "America/New_York", utc(2025, 3, 8, 12)),
    # an hourly job follows real elapsed hours: the repeated 01:30 fires twice
    ("30 * * * *", "America/New_York", utc(2025, 11, 2, 3)),
    ("15 3 * * 0", "Australia/Sydney", utc(2025, 3, 30)),
]


@pytest.mark.parametrize(("expression", "timezone", "start"), DST_CASES)
@pytest.mark.parametrize("late", [0.0, 0.4])
def test_beat_fires_what_air_schedule_prints_across_dst(
    expression: str, timezone: str, start: datetime, late: float
) -> None:
    printed = cron.next_fires(expression, timezone, start, 6)

    sent = simulate_beat(expression, timezone, start, 6, late=late)

    # Compared as instants: Python never calls a time in a repeated hour equal to one in
    # another zone (PEP 495), even when both name the same instant.
    assert [(t - timedelta(seconds=late)).timestamp() for t in sent] == [
        t.timestamp() for t in printed
    ]


def test_spring_forward_gap_fires_once_right_after_it() -> None:
    sent = simulate_beat("30 2 * * *", "Europe/Berlin", utc(2025, 3, 29, 12), 2)

    # 30 March 2025: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens.
    assert sent == [utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)]


def test_fall_back_repeated_time_fires_once() -> None:
    sent = simulate_beat("30 2 * * *", "Europe/Berlin", utc(2025, 10, 25, 12), 2)

    # 26 October 2025: 02:30 CEST (00:30 UTC), then 02:30 CET (01:30 UTC) again: only the first.
    assert sent == [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_hourly_job_fires_every_real_hour_through_fall_back() -> None:
    sent = simulate_beat("30 * * * *", "America/New_York", utc(2025, 11, 2, 4), 4)

    assert sent == [
        utc(2025, 11, 2, 4, 30),
        utc(2025, 11, 2, 5, 30),
        utc(2025, 11, 2, 6, 30),
        utc(2025, 11, 2, 7, 30),
    ]
    assert [t.astimezone(ZoneInfo("America/New_York")).hour for t in sent] == [0, 1, 1, 2]


# --- every ---------------------------------------------------------------------------------------


def test_every_counts_from_the_last_send() -> None:
    last = utc(2025, 1, 15, 12, 0)

    assert FixedEvery(30, last + timedelta(seconds=20)).is_due(last) == (False, 10.0)
    assert FixedEvery(30, last + timedelta(seconds=30)).is_due(last) == (True, 30)
    assert FixedEvery(30, last + timedelta(seconds=70)).is_due(last) == (True, 30)
    assert FixedEvery(30, last + timedelta(seconds=20)).remaining_estimate(last) == timedelta(
        seconds=10
    )


# --- identity ------------------------------------------------------------------------------------


def test_equality_and_hash() -> None:
    a, b = CronSchedule("*/5 * * * *", "UTC"), CronSchedule("*/5 * * * *", "UTC")

    assert a == b and hash(a) == hash(b)
    assert a != CronSchedule("*/5 * * * *", "Europe/Berlin")
    assert a != CronSchedule("*/10 * * * *", "UTC")
    assert a != EverySchedule(300)
    assert EverySchedule(30) == EverySchedule(30.0)
    assert hash(EverySchedule(30)) == hash(EverySchedule(30.0))
    assert EverySchedule(30) != EverySchedule(31)
    assert len({a, b, EverySchedule(30), EverySchedule(30.0)}) == 2


# --- from the plan to beat -----------------------------------------------------------------------


def test_planned_entries_become_schedules_with_their_zone_queue_and_priority(
    tmp_path: Path,
) -> None:
    queues = {
        "version": 1,
        "imports": ["tasks"],
        "broker": {"url": "redis://127.0.0.1:6399/0"},
        "defaults": {"queue": "default", "retry": {"max": 0}},
        "queues": {"default": {"priority": 5}, "bulk": {"priority": 1}},
        "pools": {"all": {"queues": ["default", "bulk"]}},
        "tasks": {"t.one": {"expires": "10m"}, "t.two": {}},
    }
    schedules = {
        "version": 1,
        "timezone": "UTC",
        "schedules": {
            "morning": {
                "task": "t.one",
                "cron": "0 9 * * *",
                "timezone": "Europe/Berlin",
                "queue": "bulk",
                "priority": 9,
            },
            "tick": {"task": "t.two", "every": "45s"},
        },
    }
    (tmp_path / "queues.yaml").write_text(yaml.safe_dump(queues))
    (tmp_path / "schedules.yaml").write_text(yaml.safe_dump(schedules))
    plan, _ = load_plan(tmp_path, env={})

    morning, tick = plan.beat["morning"], plan.beat["tick"]
    assert beat._schedule(morning, None) == CronSchedule("0 9 * * *", "Europe/Berlin")
    assert beat._schedule(tick, None) == EverySchedule(45)
    assert beat._options(morning) == {"queue": "bulk", "priority": 1, "expires": 600.0}
    assert beat._options(tick) == {"queue": "default", "priority": 5}
