"""Beat's fire times with a fixed clock: the cursor walk beat does (fire after fire, each
strictly after the last) lands exactly on what `air schedule` prints, across daylight-saving
changes; `every` fires are aligned so every beat agrees; jitter is deterministic and in range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from runtime.compiler.compile import load_plan
from runtime.config import cron
from runtime.sending import beat


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def walk(expression: str | None, every: float | None, tz: str, start: datetime, n: int) -> list:
    """The fires beat sends from a cursor at `start`: each the next one after the last."""
    fires, cursor = [], start
    for _ in range(n):
        cursor = cron.next_fire(expression, every, tz, cursor)
        fires.append(cursor)
    return fires


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
def test_beat_fires_what_air_schedule_prints_across_dst(
    expression: str, timezone: str, start: datetime
) -> None:
    printed = cron.next_fires(expression, timezone, start, 6)

    sent = walk(expression, None, timezone, start, 6)

    assert [t.timestamp() for t in sent] == [t.timestamp() for t in printed]


def test_spring_forward_gap_fires_once_right_after_it() -> None:
    sent = walk("30 2 * * *", None, "Europe/Berlin", utc(2025, 3, 29, 12), 2)

    # 30 March 2025: 02:00 CET jumps to 03:00 CEST, so 02:30 never happens.
    assert [t.astimezone(UTC) for t in sent] == [utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)]


def test_fall_back_repeated_time_fires_once() -> None:
    sent = walk("30 2 * * *", None, "Europe/Berlin", utc(2025, 10, 25, 12), 2)

    assert [t.astimezone(UTC) for t in sent] == [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_hourly_job_fires_every_real_hour_through_fall_back() -> None:
    sent = walk("30 * * * *", None, "America/New_York", utc(2025, 11, 2, 4), 4)

    assert [t.astimezone(UTC) for t in sent] == [utc(2025, 11, 2, h, 30) for h in (4, 5, 6, 7)]
    assert [t.astimezone(ZoneInfo("America/New_York")).hour for t in sent] == [0, 1, 1, 2]


def test_every_fires_on_multiples_of_the_interval_whenever_beat_started() -> None:
    one = walk(None, 30, "UTC", utc(2025, 1, 15, 12, 0, 7), 3)
    other = walk(None, 30, "UTC", utc(2025, 1, 15, 12, 0, 29), 3)

    assert (
        one
        == other
        == [utc(2025, 1, 15, 12, 0, 30), utc(2025, 1, 15, 12, 1), utc(2025, 1, 15, 12, 1, 30)]
    )
    # strictly after: a cursor on a fire time moves to the next one
    assert cron.next_fire(None, 30, "UTC", utc(2025, 1, 15, 12, 1)) == utc(2025, 1, 15, 12, 1, 30)


def test_every_fires_are_shown_in_the_schedules_zone() -> None:
    fire = cron.next_fire(None, 3600, "Europe/Berlin", utc(2025, 1, 15, 12, 30))

    assert fire.utcoffset() == timedelta(hours=1) and fire == utc(2025, 1, 15, 13)


def test_jitter_is_the_same_for_every_caller_and_spread_within_range() -> None:
    fires = walk(None, 60, "UTC", utc(2025, 1, 1), 200)

    delays = [cron.jitter_delay("sync", f, 30.0) for f in fires]

    assert delays == [cron.jitter_delay("sync", f, 30.0) for f in fires]
    assert all(0 <= d < 30 for d in delays)
    assert min(delays) < 5 and max(delays) > 25  # spread, not one value
    assert delays != [cron.jitter_delay("other", f, 30.0) for f in fires]
    assert cron.jitter_delay("sync", fires[0], 0) == 0.0


def test_jitter_below_the_period_keeps_fires_in_order() -> None:
    fires = walk(None, 10, "UTC", utc(2025, 1, 1), 500)

    sent = [f.timestamp() + cron.jitter_delay("s", f, 9.99) for f in fires]

    assert sent == sorted(sent)


def test_planned_entries_carry_their_queue_priority_and_fire_options(tmp_path: Path) -> None:
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
                "catch_up": "10m",
                "jitter": "2m",
            },
            "tick": {"task": "t.two", "every": "45s"},
        },
    }
    (tmp_path / "queues.yaml").write_text(yaml.safe_dump(queues))
    (tmp_path / "schedules.yaml").write_text(yaml.safe_dump(schedules))
    plan, _ = load_plan(tmp_path, env={})

    morning, tick = plan.beat["morning"], plan.beat["tick"]
    assert (morning.catch_up, morning.jitter) == (600.0, 120.0)
    assert (tick.catch_up, tick.jitter) == (60.0, 0.0)  # the defaults
    assert beat._options(morning) == {"queue": "bulk", "priority": 1, "expires": 600.0}
    assert beat._options(tick) == {"queue": "default", "priority": 5}
