"""Daylight saving in runtime.config.cron: the changes of a zone, the fire times they skip or
repeat, what beat really does with them, and the AIR406 lint built on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli.main import cli
from runtime.config import cron
from runtime.config.errors import UsageError
from runtime.config.validate import validate
from tests.conftest import REPO
from tests.unit.test_beat_schedule import walk

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_transitions_of_berlin_are_the_eu_rules() -> None:
    found = cron.transitions("Europe/Berlin", NOW, NOW + timedelta(days=400))
    assert [(t.kind, t.start, t.end) for t in found] == [
        ("skipped", datetime(2027, 3, 28, 2), datetime(2027, 3, 28, 3)),
        ("repeated", datetime(2027, 10, 31, 2), datetime(2027, 10, 31, 3)),
    ]
    assert abs(found[0].at - datetime(2027, 3, 28, 1, tzinfo=UTC)) <= timedelta(seconds=1)


def test_zones_without_daylight_saving_have_no_transitions() -> None:
    assert cron.transitions("UTC", NOW, NOW + timedelta(days=400)) == []
    assert cron.transitions("Asia/Tokyo", NOW, NOW + timedelta(days=400)) == []


def test_half_hour_change_of_lord_howe_is_found() -> None:
    found = cron.transitions("Australia/Lord_Howe", NOW, NOW + timedelta(days=400))
    assert {t.end - t.start for t in found} == {timedelta(minutes=30)}


def test_a_fixed_time_in_the_gap_fires_at_the_end_of_it_and_once_in_the_repeat() -> None:
    fires = cron.dst_fires("30 2 * * *", "Europe/Berlin", NOW)
    assert [(f.kind, f.wall, f.fired.isoformat()) for f in fires] == [
        ("skipped", datetime(2027, 3, 28, 2, 30), "2027-03-28T03:00:00+02:00"),
        ("repeated", datetime(2027, 10, 31, 2, 30), "2027-10-31T02:30:00+02:00"),
    ]


@pytest.mark.parametrize(
    "expression", ["0 3 * * *", "0 1 * * *", "*/5 * * * *", "30 * * * *", "0 2 * * 1-5"]
)
def test_times_outside_the_changed_hour_and_elapsed_time_jobs_are_not_affected(
    expression: str,
) -> None:
    # 28 March and 31 October 2027 are Sundays: a weekday-only 02:00 job never meets them.
    assert cron.dst_fires(expression, "Europe/Berlin", NOW) == ()


def test_dst_fires_say_what_beat_really_does() -> None:
    """Walk beat's own cursor (each fire the next one after the last) through both changes."""
    start = datetime(2027, 3, 27, 12, tzinfo=UTC)
    sent = walk("*/15 2 * * *", None, "Europe/Berlin", start, 2)
    affected = cron.dst_fires("*/15 2 * * *", "Europe/Berlin", start)
    skipped = [f for f in affected if f.kind == "skipped" and f.wall.year == 2027]
    # four times in the missing hour, one run for them all at the end of the gap
    assert len(skipped) == 4 and {f.fired for f in skipped} == {sent[0]}
    assert sent[0] == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert sent[1] == datetime(2027, 3, 29, 0, 0, tzinfo=UTC)  # next day 02:00 CEST

    autumn = datetime(2027, 10, 30, 12, tzinfo=UTC)
    sent = walk("30 2 * * *", None, "Europe/Berlin", autumn, 2)
    (repeated,) = [
        f
        for f in cron.dst_fires("30 2 * * *", "Europe/Berlin", autumn)
        if f.kind == "repeated" and f.wall.year == 2027
    ]
    assert sent[0].timestamp() == repeated.fired.timestamp()  # 00:30 UTC, the first 02:30
    assert sent[1].timestamp() - sent[0].timestamp() == 25 * 3600  # not again an hour later


def test_air_now_sets_the_clock_and_must_be_iso_8601() -> None:
    assert cron.now({"AIR_NOW": "2027-03-27T12:00:00Z"}) == datetime(2027, 3, 27, 12, tzinfo=UTC)
    assert cron.now({"AIR_NOW": "2027-03-27T12:00:00"}).tzinfo is UTC
    assert abs(cron.now({}) - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(UsageError, match="AIR_NOW='next tuesday' is not an ISO 8601 time"):
        cron.now({"AIR_NOW": "next tuesday"})


def test_the_lint_looks_ahead_from_air_now(tmp_path: Path) -> None:
    (tmp_path / "queues.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "queues": {"default": {"priority": 5}},
                "pools": {"default": {"queues": ["default"]}},
                "tasks": {"t": {"time_limit": {"soft": "1m", "hard": "2m"}}},
            }
        )
    )
    (tmp_path / "schedules.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "timezone": "Europe/Berlin",
                "schedules": {"s": {"task": "t", "cron": "30 2 * * *"}},
            }
        )
    )
    before = validate(tmp_path, {"AIR_NOW": "2027-03-01T00:00:00Z"})
    between = validate(tmp_path, {"AIR_NOW": "2027-04-01T00:00:00Z"})
    (first,) = [d.message for d in before.report if d.code == "AIR406"]
    (second,) = [d.message for d in between.report if d.code == "AIR406"]
    assert "skips on 2027-03-28" in first and "repeats on 2027-10-31" in first
    assert "skips on 2028-03-26" in second and "repeats on 2027-10-31" in second


def schedule_output(name: str, now: str, count: int = 2) -> str:
    config = REPO / "tests" / "cases" / "valid" / "daylight-saving"
    result = CliRunner(env={"AIR_NOW": now}).invoke(
        cli, ["--config", str(config), "schedule", name, "--next", str(count)]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_air_schedule_marks_the_fire_that_stands_for_skipped_times() -> None:
    assert schedule_output("sweep", "2027-03-27T12:00:00Z").splitlines()[1:] == [
        "  2027-03-28T03:00:00+02:00  (daylight saving skips 02:00, 02:15, 02:30, 02:45: "
        "fires here, at the end of the gap)",
        "  2027-03-29T02:00:00+02:00",
    ]


def test_air_schedule_marks_the_fire_in_a_repeated_hour() -> None:
    assert schedule_output("nightly-report", "2027-10-30T12:00:00Z").splitlines()[1:] == [
        "  2027-10-31T02:30:00+02:00  (02:30 comes twice today: fires once, on the first pass)",
        "  2027-11-01T02:30:00+01:00",
    ]


def test_air_schedule_leaves_unaffected_fires_unmarked() -> None:
    out = schedule_output("after-the-gap", "2027-03-27T12:00:00Z", count=5)
    assert "(" not in out.split("\n", 1)[1]
