"""The shortcuts the validator takes before walking fire times must never hide a finding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.config import cron

EXPRESSIONS = [
    "*/5 * * * *",
    "0 * * * *",
    "0 3 * * *",
    "30 1,3 * * *",
    "0 1,2 * * *",
    "0 */6 * * *",
    "0-59/15 9-17 * * 1-5",
    "59 23 * * *",
    "0,30 2 * * *",
    "45 0 1 * *",
    "0 4 * * 0",
    "@hourly",
    "@daily",
    "15 2,3 * * *",
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
# Around daylight-saving changes (spring and autumn, both hemispheres) and a quiet day.
DATES = [
    datetime(2026, 3, 28, 12, tzinfo=UTC),
    datetime(2026, 3, 7, 12, tzinfo=UTC),
    datetime(2026, 10, 24, 12, tzinfo=UTC),
    datetime(2026, 10, 31, 12, tzinfo=UTC),
    datetime(2026, 4, 4, 12, tzinfo=UTC),
    datetime(2026, 10, 3, 12, tzinfo=UTC),
    datetime(2026, 6, 15, 12, tzinfo=UTC),
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("zone", ZONES)
def test_gap_floor_never_exceeds_the_real_shortest_gap(expression: str, zone: str) -> None:
    floor = cron.gap_floor(expression)
    for date in DATES:
        gap = cron.shortest_gap(expression, zone, samples=96, after=date)
        assert gap is not None and floor <= gap, (expression, zone, date, floor, gap)


@pytest.mark.parametrize(
    "expression, possible",
    [
        ("0 0 30 2 *", True),
        ("0 0 31 4 *", True),
        ("0 0 29 2 *", True),
        ("0 0 30 2 1", False),
        ("0 0 30 * *", False),
        ("* * * 2 *", False),
        ("*/5 * * * *", False),
        ("@yearly", True),
    ],
)
def test_only_day_and_month_together_can_name_a_day_that_never_comes(
    expression: str, possible: bool
) -> None:
    assert cron.may_never_fire(expression) is possible
    if not possible:
        assert cron.next_fires(expression, "UTC", DATES[0], 1)
