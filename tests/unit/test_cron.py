"""Cron expressions, time zones and fire times, daylight-saving changes included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runtime.config import cron

BERLIN = ZoneInfo("Europe/Berlin")


def fires(expression: str, after: datetime, count: int, tz: str = "Europe/Berlin") -> list[str]:
    return [f.isoformat() for f in cron.next_fires(expression, tz, after, count)]


@pytest.mark.parametrize(
    "expression",
    [
        "*/5 * * * *",
        "0 3 * * 0",
        "0 3 * * 7",
        "  0   3 * * * ",
        "0 9 * * MON-FRI",
        "30 2 1,15 * *",
        "0 0 L * *",
        "0 0 29 2 *",
        *cron.NICKNAMES,
    ],
)
def test_valid_expressions(expression: str) -> None:
    assert cron.expression_problem(expression) is None


@pytest.mark.parametrize(
    "expression, words",
    [
        ("61 * * * *", "range"),
        ("0 24 * * *", "range"),
        ("0 0 32 * *", "range"),
        ("0 3 * *", "4 fields"),
        ("* * * * * *", "6 fields"),
        ("", "1 field;"),
        ("@fortnightly", "nickname"),
        ("@reboot", "nickname"),
        ("*/0 * * * *", "step"),
        ("a b c d e", ""),
    ],
)
def test_invalid_expressions(expression: str, words: str) -> None:
    problem = cron.expression_problem(expression)
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    "nickname, fields",
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        (" */5  *  * * * ", "*/5 * * * *"),
    ],
)
def test_normalize(nickname: str, fields: str) -> None:
    assert cron.normalize(nickname) == fields


def test_fire_times_are_strictly_after_and_in_the_zone() -> None:
    after = datetime(2024, 1, 1, 0, 15, tzinfo=UTC)
    assert fires("*/15 * * * *", after, 3, "UTC") == [
        "2024-01-01T00:30:00+00:00",
        "2024-01-01T00:45:00+00:00",
        "2024-01-01T01:00:00+00:00",
    ]
    tokyo = cron.next_fires("@daily", "Asia/Tokyo", after, 2)
    assert [f.isoformat() for f in tokyo] == [
        "2024-01-02T00:00:00+09:00",
        "2024-01-03T00:00:00+09:00",
    ]
    assert tokyo[0].tzinfo == ZoneInfo("Asia/Tokyo")


def test_weekly_and_nicknames() -> None:
    after = datetime(2024, 1, 1, 12, tzinfo=UTC)  # a Monday
    assert fires("0 4 * * 0", after, 2, "UTC") == [
        "2024-01-07T04:00:00+00:00",
        "2024-01-14T04:00:00+00:00",
    ]
    assert fires("@monthly", after, 1, "UTC") == ["2024-02-01T00:00:00+00:00"]


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_never_firing_expressions_raise(expression: str) -> None:
    with pytest.raises(ValueError, match="never fires"):
        cron.next_fires(expression, "UTC", datetime(2024, 1, 1, tzinfo=UTC), 1)
    assert cron.shortest_gap(expression, "UTC") is None


def test_leap_day_fires_every_four_years() -> None:
    assert fires("0 0 29 2 *", datetime(2024, 3, 1, tzinfo=UTC), 2, "UTC") == [
        "2028-02-29T00:00:00+00:00",
        "2032-02-29T00:00:00+00:00",
    ]


# --- daylight saving (Europe/Berlin: 2024-03-31 02:00 -> 03:00; 2024-10-27 03:00 -> 02:00) -------


def test_spring_forward_fixed_time_fires_once_right_after_the_gap() -> None:
    assert fires("30 2 * * *", datetime(2024, 3, 30, 12, tzinfo=BERLIN), 3) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
        "2024-04-02T02:30:00+02:00",
    ]


def test_spring_forward_several_skipped_times_fire_once_after_the_gap() -> None:
    assert fires("15,45 2 * * *", datetime(2024, 3, 31, tzinfo=BERLIN), 2) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:15:00+02:00",
    ]


def test_spring_forward_hourly_skips_the_missing_hour() -> None:
    assert fires("0 * * * *", datetime(2024, 3, 31, 0, 30, tzinfo=BERLIN), 3) == [
        "2024-03-31T01:00:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T04:00:00+02:00",
    ]


def test_fall_back_fixed_time_fires_once() -> None:
    assert fires("30 2 * * *", datetime(2024, 10, 26, 12, tzinfo=BERLIN), 2) == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
    ]
    assert fires("0 2 * * *", datetime(2024, 10, 26, 12, tzinfo=BERLIN), 2) == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-28T02:00:00+01:00",
    ]


def test_fall_back_fixed_hour_with_several_minutes_fires_each_once() -> None:
    assert fires("*/30 2 * * *", datetime(2024, 10, 27, 1, 50, tzinfo=BERLIN), 3) == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:00:00+01:00",
    ]


def test_fall_back_hourly_fires_twice_at_two_oclock() -> None:
    result = cron.next_fires(
        "0 * * * *", "Europe/Berlin", datetime(2024, 10, 27, 0, 30, tzinfo=BERLIN), 4
    )
    assert [f.isoformat() for f in result] == [
        "2024-10-27T01:00:00+02:00",
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T03:00:00+01:00",
    ]
    # real elapsed hours: every gap is exactly one hour
    utc = [f.astimezone(UTC) for f in result]
    assert {b - a for a, b in zip(utc, utc[1:], strict=False)} == {timedelta(hours=1)}


def test_shortest_gap_counts_real_time_across_daylight_saving_changes() -> None:
    # Wall-clock subtraction would call the two 02:00s of the fall-back night 0 s apart.
    assert cron.shortest_gap(
        "0 * * * *", "Europe/Berlin", after=datetime(2024, 10, 27, tzinfo=BERLIN)
    ) == timedelta(hours=1)
    assert cron.shortest_gap(
        "0 3 * * *", "Europe/Berlin", after=datetime(2024, 3, 29, tzinfo=BERLIN)
    ) == timedelta(hours=23)


def test_fall_back_in_new_york() -> None:
    new_york = ZoneInfo("America/New_York")
    assert fires(
        "30 1 * * *", datetime(2024, 11, 2, 12, tzinfo=new_york), 2, "America/New_York"
    ) == ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]


def test_shortest_gap() -> None:
    assert cron.shortest_gap("*/5 * * * *", "UTC") == timedelta(minutes=5)
    assert cron.shortest_gap("0 3 * * *", "UTC") == timedelta(days=1)
    assert cron.shortest_gap("0 */6 * * *", "UTC") == timedelta(hours=6)
    assert cron.shortest_gap("0 9 * * 1,2", "UTC") == timedelta(days=1)
    assert cron.shortest_gap("@yearly", "UTC", samples=1) == timedelta(days=365)


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_known_time_zones(name: str) -> None:
    assert cron.timezone_problem(name) is None


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
        ("America/New_Yrok", "did you mean 'America/New_York'?"),
        ("Mars/Olympus_Mons", ""),
        ("", ""),
        ("../etc/passwd", ""),
        ("/etc/localtime", ""),
        ("UTC\x00", ""),
        ("x" * 300, ""),
    ],
)
def test_unknown_time_zones(name: str, suggestion: str) -> None:
    problem = cron.timezone_problem(name)
    assert problem is not None
    assert suggestion in problem and "IANA" in problem
