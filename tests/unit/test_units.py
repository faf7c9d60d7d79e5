"""Durations, sizes, rates and priorities."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.config.units import (
    Rate,
    format_duration,
    parse_duration,
    parse_rate,
    parse_size_kib,
    redis_priority,
)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("30s", 30),
        ("1.5s", 1.5),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("0s", 0),
        (" 5m ", 300),
        ("0.25h", 900),
        (90, 90),
        (1.5, 1.5),
        (0, 0),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "bad",
    [
        "5",
        "5 m",
        "1w",
        "",
        "-1s",
        "5M",
        "1h30m",
        "s",
        ".5s",
        "1e3s",
        True,
        False,
        -1,
        -0.5,
        None,
        [1],
        {"s": 1},
    ],
)
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "seconds, text",
    [
        (90, "90s"),
        (60, "1m"),
        (3600, "1h"),
        (86400, "1d"),
        (5400, "90m"),
        (1.5, "1.5s"),
        (0, "0s"),
        (172800, "2d"),
        (0.25, "0.25s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize("text", ["30s", "1.5s", "90m", "2h", "1d", "36h", "45s"])
def test_format_parses_back_to_the_same_duration(text: str) -> None:
    delta = parse_duration(text)
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize(
    "value, kib",
    [
        (100, 100),
        ("512KiB", 512),
        ("512MiB", 512 * 1024),
        ("2GiB", 2 * 1024 * 1024),
        ("1MB", 976),
        ("1GB", 976562),
        ("2048KB", 2000),
    ],
)
def test_parse_size_kib(value: str | int, kib: int) -> None:
    assert parse_size_kib(value) == kib


@pytest.mark.parametrize("bad", ["1.5GB", "512", "512 MiB", "1TiB", "", True, None, [1], 1.5])
def test_parse_size_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size_kib(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text, count, per, per_second, shown",
    [
        ("30/m", 30.0, "m", 0.5, "30/m"),
        ("10/s", 10.0, "s", 10.0, "10/s"),
        ("3600/h", 3600.0, "h", 1.0, "3600/h"),
        ("1.5/s", 1.5, "s", 1.5, "1.5/s"),
        (" 2/m ", 2.0, "m", 2 / 60, "2/m"),
    ],
)
def test_parse_rate(text: str, count: float, per: str, per_second: float, shown: str) -> None:
    rate = parse_rate(text)
    assert rate == Rate(count, per)
    assert rate.per_second == pytest.approx(per_second)
    assert str(rate) == shown


@pytest.mark.parametrize("bad", ["30/min", "/m", "30", "30/d", "-1/s", "30 /m", "", 30, None])
def test_parse_rate_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)  # type: ignore[arg-type]


def test_redis_priority_inverts_the_scale() -> None:
    assert [redis_priority(p) for p in range(1, 11)] == list(range(9, -1, -1))
